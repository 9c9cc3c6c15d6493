import type { Db } from "@/lib/db/client";
import { CanceledError } from "@/lib/engine/errors";
import { directStepRunner, leaseAndLoadJob, runExecution, ShutdownError, type LoadedJob, type RunOptions, type RunOutcome } from "@/lib/engine/executor";
import { findOrphanedJobs, newLeaseOwner, releaseLease, renewLease } from "@/lib/engine/lease";
import { sweepDueJobs } from "@/lib/engine/sweep";
import type { Logger } from "@/lib/log";
import type { HealthStatus, Providers } from "@/lib/providers/types";

export interface InProcessRunnerOptions {
  database: Db;
  providers: Providers;
  checkHealth(provider: string): Promise<HealthStatus>;
  concurrency: number;
  leaseMs: number;
  sweepIntervalMs: number;
  sweepBatch: number;
  retryBaseSeconds: number;
  maxRetries: number;
  logger: Logger;
  findWorkflow?: RunOptions["findWorkflow"];
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
    this.options.logger.info("in-process runner started", {
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

  /** One sweep: resume due parked jobs and adopt orphaned ones. Safe to call at any time. */
  async tick(): Promise<void> {
    if (this.stopped) return;
    const { database, logger } = this.options;
    try {
      for (const jobId of await findOrphanedJobs(database, this.options.sweepBatch)) {
        if (!this.running.has(jobId) && !this.waiting.includes(jobId)) logger.info("resuming orphaned execution", { job_id: jobId });
        this.enqueue(jobId);
      }
      const { resumed } = await sweepDueJobs({
        database,
        batchSize: this.options.sweepBatch,
        checkHealth: this.options.checkHealth,
        deferSeconds: this.options.sweepIntervalMs / 1000,
        logger,
      });
      for (const jobId of resumed) this.enqueue(jobId);
    } catch (error) {
      logger.error("sweep failed; next tick retries", { error });
    }
  }

  /** Stops taking work and interrupts running steps; their leases are released for a quick takeover. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.wakeTimer);
    for (const jobId of this.waiting.splice(0)) this.finish(jobId, undefined);
    for (const controller of this.running.values()) controller.abort(new ShutdownError());
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
    const { database, logger, leaseMs } = this.options;
    const log = logger.child({ job_id: jobId });
    let job: LoadedJob | undefined;
    try {
      // The lease and the job's row in one statement: the row read is the one this lease protects.
      job = await leaseAndLoadJob(database, jobId, this.owner, leaseMs);
    } catch (error) {
      log.error("could not take the execution lease; the sweep will retry", { error });
      return undefined;
    }
    if (!job) {
      log.debug("execution leased elsewhere (or gone); skipped");
      return undefined;
    }
    const heartbeat = setInterval(() => void this.heartbeat(jobId, controller), Math.max(200, leaseMs / 3));
    heartbeat.unref();
    let outcome: RunOutcome | undefined;
    try {
      outcome = await runExecution(jobId, {
        runner: directStepRunner,
        providers: this.options.providers,
        signal: controller.signal,
        retryBaseSeconds: this.options.retryBaseSeconds,
        defaultMaxRetries: this.options.maxRetries,
        database,
        logger,
        job,
        ...(this.options.findWorkflow && { findWorkflow: this.options.findWorkflow }),
      });
    } catch (error) {
      // A database error mid-run: the job stays running with its checkpoints; the lease lapses
      // and the sweep resumes it from the last checkpoint.
      log.error("execution interrupted by an internal error; it resumes from its checkpoint", { error });
    } finally {
      clearInterval(heartbeat);
      // A completion or a parked retry released the lease in its own commit (runExecution); any
      // other end (failure, cancel, skip, shutdown, error) releases it here.
      if (outcome?.status !== "completed" && outcome?.status !== "pending_retry") {
        await releaseLease(database, jobId, this.owner).catch(() => undefined);
      }
    }
    if (outcome?.status === "pending_retry") this.scheduleWake(new Date(outcome.nextRetryAt));
    return outcome;
  }

  private async heartbeat(jobId: string, controller: AbortController): Promise<void> {
    const { database, leaseMs, logger } = this.options;
    try {
      const kept = await renewLease(database, jobId, this.owner, leaseMs);
      if (!kept) {
        logger.warn("lease lost; stopping this run", { job_id: jobId });
        controller.abort(new ShutdownError());
        return;
      }
      // A cancel from another process shows up here.
      const job = await database.job.findUnique({ where: { id: jobId }, select: { status: true } });
      if (job?.status === "canceled") controller.abort(new CanceledError());
    } catch (error) {
      logger.warn("lease heartbeat failed", { job_id: jobId, error });
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
