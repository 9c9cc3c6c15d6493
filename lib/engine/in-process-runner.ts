import "server-only";
import { InterruptedError } from "@/lib/engine/interrupt";
import { isDeadLocalOwner, localOwnerPrefix, newLeaseOwner } from "@/lib/engine/lease";
import { runExecution } from "@/lib/engine/run-execution";
import { directStepRunner } from "@/lib/engine/step-runner";
import { expireApprovals } from "@/lib/engine/approval-timeouts";
import { sweepDueJobs } from "@/lib/engine/sweep";
import type { EngineDeps, RunOutcome } from "@/lib/engine/types";
import type { HealthStatus } from "@/lib/providers/types";
import type { Fence, LeasedRun } from "@/lib/store/types";
import { CanceledError } from "@/lib/workflows/errors";

export interface InProcessRunnerOptions {
  engine: EngineDeps;
  checkHealth(provider: string): Promise<HealthStatus>;
  concurrency: number;
  leaseMs: number;
  sweepIntervalMs: number;
  sweepBatch: number;
  /** How long a parked job whose provider is still unhealthy waits before the sweep looks again. */
  recheckSeconds: number;
  /** Called on every tick after the sweep (the webhook dispatcher's pass over due messages). */
  onTick?: () => void;
}

/**
 * The embedded default's runner: executions run inside the server process, at most `concurrency`
 * at once, each under a lease renewed while it runs. A timer sweeps due retries and picks up
 * orphaned executions (their runner died), so a crash or restart loses nothing.
 */
export class InProcessRunner {
  readonly owner = newLeaseOwner();
  private readonly waiting: string[] = [];
  private readonly running = new Map<string, AbortController>();
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

  /** Queues a job to run here (deduplicated; the lease settles any race with other processes). */
  enqueue(jobId: string): void {
    void this.run(jobId);
  }

  /**
   * Queues a job like enqueue, and resolves with the outcome of its run here: undefined when it
   * did not run here (leased by another process, the runner stopped, or an internal error that
   * leaves it to recovery). A job already waiting or running gets the outcome of that run.
   */
  run(jobId: string): Promise<RunOutcome | undefined> {
    const pending = this.settle.get(jobId);
    if (pending) return pending.outcome;
    if (this.stopped) return Promise.resolve(undefined);
    let resolve!: (outcome: RunOutcome | undefined) => void;
    const outcome = new Promise<RunOutcome | undefined>((r) => (resolve = r));
    this.settle.set(jobId, { outcome, resolve });
    this.waiting.push(jobId);
    this.pump();
    return outcome;
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
        if (!this.running.has(orphan.jobId) && !this.waiting.includes(orphan.jobId)) engine.logger.info("resuming orphaned execution", { job_id: orphan.jobId });
        this.enqueue(orphan.jobId);
      }
      const { resumed } = await sweepDueJobs({
        store: engine.store,
        batchSize: this.options.sweepBatch,
        checkHealth: this.options.checkHealth,
        recheckSeconds: this.options.recheckSeconds,
        logger: engine.logger,
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
    for (const jobId of this.waiting.splice(0)) this.finish(jobId, undefined);
    for (const controller of this.running.values()) controller.abort(new InterruptedError("shutdown"));
    await this.idle();
  }

  /** Resolves when nothing is running or waiting. */
  idle(): Promise<void> {
    if (this.running.size === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.options.concurrency && this.waiting.length > 0) {
      const jobId = this.waiting.shift()!;
      const controller = new AbortController();
      this.running.set(jobId, controller);
      void this.runOne(jobId, controller).then((outcome) => {
        this.running.delete(jobId);
        this.finish(jobId, outcome);
        this.pump();
        if (this.running.size === 0 && this.waiting.length === 0) {
          for (const resolve of this.idleWaiters.splice(0)) resolve();
        }
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
