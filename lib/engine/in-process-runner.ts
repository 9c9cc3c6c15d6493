import "server-only";
import { InterruptedError } from "@/lib/engine/interrupt";
import { isDeadLocalOwner, localOwnerPrefix, newLeaseOwner } from "@/lib/engine/lease";
import { runExecution } from "@/lib/engine/run-execution";
import { directStepRunner } from "@/lib/engine/step-runner";
import { expireApprovals } from "@/lib/engine/approval-timeouts";
import { FairQueue } from "@/lib/engine/fair-queue";
import { sweepDueJobs } from "@/lib/engine/sweep";
import type { EngineDeps, RunOutcome } from "@/lib/engine/types";
import type { HealthStatus } from "@/lib/providers/types";
import type { Fence, LeasedRun } from "@/lib/store/types";
import { CanceledError } from "@/lib/workflows/errors";

export interface InProcessRunnerOptions {
  engine: EngineDeps;
  checkHealth(provider: string): Promise<HealthStatus>;
  concurrency: number;
  /** Executions of one user's jobs run at once here (undefined: only `concurrency` caps them). */
  userConcurrency?: number;
  leaseMs: number;
  sweepIntervalMs: number;
  sweepBatch: number;
  /** How long a parked job whose provider is still unhealthy waits before the sweep looks again. */
  recheckSeconds: number;
  /** Called on every tick after the sweep (the webhook dispatcher's pass over due messages). */
  onTick?: () => void;
  /** Called whenever the line of waiting jobs changed (a job joined it or left it): places in line moved. */
  onLineChange?: () => void;
}

/**
 * The embedded default's runner: executions run inside the server process, at most `concurrency`
 * at once, each under a lease renewed while it runs. A timer sweeps due retries and picks up
 * orphaned executions (their runner died), so a crash or restart loses nothing.
 *
 * Fair turns: waiting jobs queue per user, and a free slot goes to the user served least recently
 * (within `userConcurrency`), so one user's batch of 30 jobs does not make another user's one job
 * wait for all of them.
 */
export class InProcessRunner {
  readonly owner = newLeaseOwner();
  private readonly turns = new FairQueue();
  /** Jobs in the order they came, before they join their user's line (see queue). */
  private readonly arrivals: { jobId: string; userId: string | undefined }[] = [];
  private readonly running = new Map<string, AbortController>();
  private readonly runningUser = new Map<string, string>();
  /** Who awaits each waiting or running job's outcome (see run). */
  private readonly settle = new Map<string, { outcome: Promise<RunOutcome | undefined>; resolve(outcome: RunOutcome | undefined): void }>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: InProcessRunnerOptions) {}

  async start(): Promise<void> {
    this.options.engine.logger.info("in-process runner started", {
      owner: this.owner,
      concurrency: this.options.concurrency,
      sweep_interval_s: this.options.sweepIntervalMs / 1000,
    });
    await this.tick();
    this.sweepTimer = setInterval(() => void this.tick(), this.options.sweepIntervalMs);
    this.sweepTimer.unref();
  }

  /**
   * Queues a job to run here (deduplicated; the lease settles any race with other processes).
   * `userId`, when the caller knows whose job it is, queues it at once instead of after a read.
   */
  enqueue(jobId: string, userId?: string): void {
    void this.run(jobId, userId);
  }

  /**
   * Queues a job like enqueue, and resolves with the outcome of its run here: undefined when it
   * did not run here (leased by another process, the runner stopped, or an internal error that
   * leaves it to recovery). A job already waiting or running gets the outcome of that run.
   */
  run(jobId: string, userId?: string): Promise<RunOutcome | undefined> {
    const pending = this.settle.get(jobId);
    if (pending) return pending.outcome;
    if (this.stopped) return Promise.resolve(undefined);
    let resolve!: (outcome: RunOutcome | undefined) => void;
    const outcome = new Promise<RunOutcome | undefined>((r) => (resolve = r));
    this.settle.set(jobId, { outcome, resolve });
    this.queue(userId, jobId);
    return outcome;
  }

  /**
   * Queues jobs in the order they arrived: a job whose owner is still being read holds back the
   * ones behind it, so a user's jobs run in the order they were enqueued.
   */
  private queue(userId: string | undefined, jobId: string): void {
    const arrival = { jobId, userId };
    this.arrivals.push(arrival);
    if (userId === undefined) {
      // A job that cannot be read is queued all the same: its run finds out what became of it.
      void this.options.engine.store.readQueuedJob(jobId).then(
        (job) => (arrival.userId = job?.userId ?? ""),
        () => (arrival.userId = ""),
      ).then(() => this.admitArrivals());
    } else {
      this.admitArrivals();
    }
  }

  private admitArrivals(): void {
    while (this.arrivals.length > 0 && this.arrivals[0]!.userId !== undefined) {
      const { jobId, userId } = this.arrivals.shift()!;
      if (this.stopped) this.finish(jobId, undefined);
      else this.turns.push(userId!, jobId);
    }
    this.pump();
    this.options.onLineChange?.();
    this.notifyIdle();
  }

  /**
   * The jobs waiting here, in the order this runner will take them: the users' turns as they stand
   * (FairQueue.order), then the jobs whose owner is still being read. A user at their own limit is
   * counted as if eligible: when a slot of theirs frees depends on how long their runs take.
   */
  waiting(): string[] {
    return [...this.turns.order().map((entry) => entry.jobId), ...this.arrivals.map((arrival) => arrival.jobId)];
  }

  /** A waiting job's place in this runner's line (1 = next), or undefined when it is not waiting here. */
  placeInLine(jobId: string): number | undefined {
    const place = this.waiting().indexOf(jobId);
    return place < 0 ? undefined : place + 1;
  }

  /** Aborts the job's running step in this process, if it runs here. */
  cancel(jobId: string): void {
    this.running.get(jobId)?.abort(new CanceledError());
  }

  /** One sweep: resume due parked jobs, adopt orphaned ones (an approved job too), time out approvals. Safe to call at any time. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const { engine } = this.options;
    try {
      const now = new Date();
      const orphans = await engine.store.findOrphans(now, this.options.sweepBatch, localOwnerPrefix());
      for (const orphan of orphans) {
        const adoptable = !orphan.leaseOwner || (orphan.leaseExpiresAt !== null && orphan.leaseExpiresAt < now) || isDeadLocalOwner(orphan.leaseOwner);
        if (!adoptable) continue;
        if (!this.settle.has(orphan.jobId)) engine.logger.info("resuming orphaned execution", { job_id: orphan.jobId });
        this.enqueue(orphan.jobId);
      }
      const { resumed } = await sweepDueJobs({
        store: engine.store,
        batchSize: this.options.sweepBatch,
        checkHealth: this.options.checkHealth,
        recheckSeconds: this.options.recheckSeconds,
        logger: engine.logger,
        notifier: engine.notifier,
        ...(engine.cancelSavedWork && { cancelSavedWork: (jobId: string) => engine.cancelSavedWork!(jobId) }),
      });
      for (const job of resumed) this.enqueue(job.id);
      await expireApprovals({ store: engine.store, notifier: engine.notifier, logger: engine.logger, batchSize: this.options.sweepBatch, now });
      this.options.onTick?.();
    } catch (error) {
      engine.logger.error("sweep failed; next tick retries", { err: error });
    }
  }

  /** Stops taking work and interrupts running steps; their leases are released for a quick takeover. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.wakeTimer);
    for (const jobId of this.turns.drain()) this.finish(jobId, undefined);
    for (const controller of this.running.values()) controller.abort(new InterruptedError("shutdown"));
    await this.idle();
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.turns.size === 0 && this.arrivals.length === 0;
  }

  private notifyIdle(): void {
    if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  private runningFor(userId: string): number {
    let count = 0;
    for (const owner of this.runningUser.values()) if (owner === userId) count += 1;
    return count;
  }

  private pump(): void {
    const userLimit = this.options.userConcurrency ?? Number.POSITIVE_INFINITY;
    while (!this.stopped && this.running.size < this.options.concurrency) {
      const next = this.turns.take((userId) => this.runningFor(userId) < userLimit);
      if (!next) break;
      const { jobId, userId } = next;
      const controller = new AbortController();
      this.running.set(jobId, controller);
      this.runningUser.set(jobId, userId);
      void this.runOne(jobId, controller).then((outcome) => {
        this.running.delete(jobId);
        this.runningUser.delete(jobId);
        this.finish(jobId, outcome);
        const before = this.turns.size;
        this.pump();
        if (this.turns.size !== before) this.options.onLineChange?.();
        this.notifyIdle();
      });
    }
  }

  private finish(jobId: string, outcome: RunOutcome | undefined): void {
    this.settle.get(jobId)?.resolve(outcome);
    this.settle.delete(jobId);
  }

  /** Never rejects: every error is logged here and the job is left to recovery. */
  private async runOne(jobId: string, controller: AbortController): Promise<RunOutcome | undefined> {
    const { engine, leaseMs } = this.options;
    const log = engine.logger.child({ job_id: jobId });
    let leased: LeasedRun | undefined;
    try {
      // The lease and the job's row in one read: the row read is the one this lease protects.
      leased = await engine.store.leaseRun(jobId, this.owner, { ttlMs: leaseMs, takeOverFrom: isDeadLocalOwner });
    } catch (error) {
      log.error("could not take the execution lease; the sweep will retry", { err: error });
      return undefined;
    }
    if (!leased) {
      log.debug("execution leased elsewhere (or gone); skipped");
      return undefined;
    }
    const { fence } = leased;
    const heartbeat = setInterval(() => void this.heartbeat(jobId, fence, controller), Math.max(200, leaseMs / 3));
    heartbeat.unref();
    let outcome: RunOutcome | undefined;
    try {
      outcome = await runExecution(engine, { leased, runner: directStepRunner, signal: controller.signal });
    } catch (error) {
      // A database error mid-run: the job stays running with its checkpoints; the lease lapses
      // and the sweep resumes it from the last checkpoint.
      log.error("execution interrupted by an internal error; it resumes from its checkpoint", { err: error });
    } finally {
      clearInterval(heartbeat);
      // Completing, parking and failing released the lease in their own commit; any other end
      // hands it back here (fenced: a lease taken over meanwhile is not touched).
      if (outcome?.status !== "completed" && outcome?.status !== "pending_retry" && outcome?.status !== "failed") {
        await engine.store.releaseLease(jobId, fence).catch(() => undefined);
      }
    }
    if (outcome?.status === "pending_retry") this.scheduleWake(new Date(outcome.nextRetryAt));
    return outcome;
  }

  /** Renews the lease, and notices a cancel made by another process, in one round trip. */
  private async heartbeat(jobId: string, fence: Fence, controller: AbortController): Promise<void> {
    const { engine, leaseMs } = this.options;
    try {
      const { held, status } = await engine.store.renewLease(jobId, fence, leaseMs);
      if (!held) {
        engine.logger.warn("lease lost; stopping this run", { job_id: jobId });
        controller.abort(new InterruptedError("lease_lost"));
        return;
      }
      if (status === "canceled") controller.abort(new CanceledError());
    } catch (error) {
      engine.logger.warn("lease heartbeat failed", { job_id: jobId, err: error });
    }
  }

  /** A retry due before the next sweep (e.g. a short Retry-After) gets its own wake-up. */
  private scheduleWake(at: Date): void {
    const delay = Math.max(0, at.getTime() - Date.now()) + 50;
    if (delay >= this.options.sweepIntervalMs || at.getTime() >= this.wakeAt) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at.getTime();
    this.wakeTimer = setTimeout(() => {
      this.wakeAt = Number.POSITIVE_INFINITY;
      void this.tick();
    }, delay);
    this.wakeTimer.unref();
  }
}
