import type { Checkpoint, Checkpoints, JobEventInput } from "@/lib/contract/events";
import { isTerminalStatus } from "@/lib/contract/events";
import { db, dialectOf, onPostgresPool, onSqliteConnection, postgresTime, sqliteStatement, sqliteTime, type Db, type SqliteConnection } from "@/lib/db/client";
import { classifyError, CanceledError, type ClassifiedError } from "@/lib/engine/errors";
import { nextRetryDelaySeconds } from "@/lib/engine/backoff";
import { acquireLease, releaseLease, takeFreeLeaseReading } from "@/lib/engine/lease";
import { notifyJobEvents } from "@/lib/engine/notifier";
import type { StepContext } from "@/lib/engine/step-context";
import { log as rootLog, type Logger } from "@/lib/log";
import type { Providers, StepState } from "@/lib/providers/types";
import { findWorkflow } from "@/lib/workflows/registry";
import type { Workflow } from "@/lib/workflows/definition";

/**
 * The seam between the engine and whatever makes steps durable. The in-process runner calls `fn`
 * directly (the database checkpoints are the durability); the Inngest driver wraps it in
 * `step.run(id, fn)`, which memoizes the result across invocations.
 */
export interface StepRunner {
  step<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /**
   * True when consecutive steps run back to back inside one runExecution call (the in-process
   * runner). A step's end is then committed together with the next step's start (or the job's
   * completion) in one transaction. Runners that replay or split steps across invocations
   * (Inngest) leave it unset, and each step start and end keeps its own transaction.
   */
  readonly continuous?: boolean;
}

export const directStepRunner: StepRunner = { step: (_id, fn) => fn(), continuous: true };

/** Raised into a step when the process is shutting down: nothing is recorded, the lease lapses and recovery resumes it. */
export class ShutdownError extends Error {
  override readonly name = "ShutdownError";
  constructor() {
    super("Server shutting down");
  }
}

export type StepOutcome =
  | {
      status: "completed";
      output: Record<string, unknown>;
      /** The next step's start was committed with this step's end. */
      nextStarted?: boolean;
      /** This was the last step and the job's completion was committed with its end. */
      jobCompleted?: boolean;
    }
  | { status: "pending_retry"; reason: string; nextRetryAt: string; retryAfterSeconds?: number }
  | { status: "failed"; code: string; message: string }
  | { status: "canceled" }
  | { status: "interrupted" };

export type RunOutcome =
  | { status: "completed"; result: Record<string, unknown> }
  | Exclude<StepOutcome, { status: "completed" }>
  | { status: "skipped"; why: string };

export interface RunOptions {
  runner: StepRunner;
  providers: Providers;
  signal: AbortSignal;
  /** Base of the retry backoff, in seconds. */
  retryBaseSeconds: number;
  defaultMaxRetries: number;
  database?: Db;
  logger?: Logger;
  /** Where workflows come from; the registry of workflows/ unless a test brings its own. */
  findWorkflow?: (id: string) => Workflow | undefined;
  /** The job as the caller read it when it took the run's lease (leaseAndLoadJob); read here otherwise. */
  job?: LoadedJob;
}

/** Stable, readable step ids: Inngest shows them in its dashboard and memoizes by them. */
export function stepId(index: number, name: string): string {
  return `step-${index}-${name.replaceAll("_", "-")}`;
}

function overallProgress(stepIndex: number, stepCount: number, stepPercent: number): number {
  return Math.min(100, Math.floor(((stepIndex + stepPercent / 100) / stepCount) * 100));
}

function eventRows(jobId: string, events: JobEventInput[]) {
  return events.map((event) => ({ jobId, type: event.type, data: event.data as object }));
}

/**
 * Runs a job's workflow from its first step that is not completed. The caller guarantees that
 * nobody else runs this job at the same time (a lease in-process; Inngest's own run otherwise).
 */
export async function runExecution(jobId: string, options: RunOptions): Promise<RunOutcome> {
  const database = options.database ?? db();
  const job = options.job ?? (await loadJob(database, jobId));
  if (!job) return { status: "skipped", why: "job not found" };
  if (job.status !== "queued" && job.status !== "running") return { status: "skipped", why: `job is ${job.status}` };
  const workflow = (options.findWorkflow ?? findWorkflow)(job.workflowId);
  const logger = (options.logger ?? rootLog).child({ job_id: jobId, workflow_id: job.workflowId });
  if (!workflow) {
    await failJob(database, jobId, "unknown_workflow", `Workflow ${job.workflowId} is not installed`);
    return { status: "failed", code: "unknown_workflow", message: `Workflow ${job.workflowId} is not installed` };
  }

  const execution = {
    jobId,
    userId: job.userId,
    inputs: job.inputs as Record<string, string>,
    checkpoints: (job.checkpoints ?? {}) as unknown as Checkpoints,
    retryCount: job.retryCount,
    maxRetries: job.maxRetries || options.defaultMaxRetries,
  };
  const steps = workflow.config.steps;
  const fromStep = firstIncompleteStep(workflow, execution.checkpoints);
  /** Set when the previous commit (the run's start, or the previous step's end) also wrote this step's start. */
  let startedWithPrevious = false;
  if (options.runner.continuous === true && fromStep < steps.length) {
    // One commit takes the job from queued to running (or resumes it) and starts its first step.
    const start = stepStartWrites(workflow, execution, fromStep);
    const started = await commitStep(database, {
      jobId,
      progress: start.progress,
      currentStep: fromStep,
      checkpoints: execution.checkpoints,
      events: [start.event],
      start: job.status === "queued" ? "queued" : "resumed",
    });
    if (!started) return { status: "skipped", why: "job changed state" };
    notifyJobEvents(jobId);
    startedWithPrevious = true;
  } else if (job.status === "queued") {
    const started = await database.job.updateMany({
      where: { id: jobId, status: "queued" },
      data: { status: "running", attempts: { increment: 1 }, nextRetryAt: null },
    });
    if (started.count === 0) return { status: "skipped", why: "job changed state" };
  }
  logger.info("execution started", { from_step: fromStep });

  let previous: Record<string, unknown> = {};
  for (let index = 0; index < steps.length; index++) {
    const saved = execution.checkpoints[String(index)];
    if (saved?.status === "completed") {
      previous = saved.output ?? {};
      continue;
    }
    const alreadyStarted: boolean = startedWithPrevious;
    const outcome: StepOutcome = await options.runner.step(stepId(index, steps[index]!.name), () =>
      executeStep({ database, workflow, execution, index, previous, options, logger, alreadyStarted }),
    );
    if (outcome.status !== "completed") return outcome;
    if (outcome.jobCompleted) {
      logger.info("execution completed", { result: outcome.output });
      return { status: "completed", result: outcome.output };
    }
    startedWithPrevious = outcome.nextStarted === true;
    previous = outcome.output;
  }

  const result = previous;
  const completed = await database.$transaction(async (tx) => {
    const updated = await tx.job.updateMany({
      where: { id: jobId, status: "running" },
      data: { status: "completed", progress: 100, result: result as object, error: null, errorCode: null, completedAt: new Date() },
    });
    if (updated.count === 0) return false;
    await tx.workflowExecution.update({
      where: { jobId },
      data: { currentStep: steps.length, leaseOwner: null, leaseExpiresAt: null },
    });
    await tx.jobEvent.createMany({ data: eventRows(jobId, [{ type: "complete", data: { result } }]) });
    return true;
  });
  notifyJobEvents(jobId);
  if (!completed) return { status: "canceled" };
  logger.info("execution completed", { result });
  return { status: "completed", result };
}

/** What a run needs of its job and execution. */
export interface LoadedJob {
  status: string;
  workflowId: string;
  userId: string;
  inputs: unknown;
  checkpoints: unknown;
  retryCount: number;
  maxRetries: number;
}

/** The columns of a LoadedJob, from jobs `j` and workflow_executions `e`, as the SQL paths read them. */
const JOB_COLUMNS = "j.status, j.workflow_id, j.user_id, j.inputs, e.checkpoints, e.retry_count, e.max_retries";
type JobRow = { status: string; workflow_id: string; user_id: string; inputs: unknown; checkpoints: unknown; retry_count: number | bigint; max_retries: number | bigint };

/** A JSON column as the raw query returns it: text on SQLite, usually parsed already on PostgreSQL. */
function jsonColumn(value: unknown): unknown {
  return typeof value === "string" ? JSON.parse(value) : value;
}

function fromJobRow(row: JobRow): LoadedJob {
  return {
    status: row.status,
    workflowId: row.workflow_id,
    userId: row.user_id,
    inputs: jsonColumn(row.inputs),
    checkpoints: jsonColumn(row.checkpoints),
    retryCount: Number(row.retry_count),
    maxRetries: Number(row.max_retries),
  };
}

/**
 * The job with its execution, read once per run: one SQL join on clients made by createDb (a
 * Prisma findUnique with include costs about a model query's CPU; see docs/performance.md).
 * Undefined when the job or its execution is missing.
 */
async function loadJob(database: Db, jobId: string): Promise<LoadedJob | undefined> {
  const dialect = dialectOf(database);
  if (dialect === "sqlite" || dialect === "postgresql") {
    const sql = `SELECT ${JOB_COLUMNS} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id WHERE j.id = ${dialect === "sqlite" ? "?" : "$1"}`;
    const direct =
      dialect === "sqlite"
        ? onSqliteConnection(database, (connection) => sqliteStatement(connection, sql).get(jobId) as JobRow | undefined)
        : onPostgresPool<JobRow>(database, sql, [jobId])?.then((result) => result.rows[0]);
    const row = direct ? await direct : (await database.$queryRawUnsafe<JobRow[]>(sql, jobId))[0];
    return row && fromJobRow(row);
  }
  const job = await database.job.findUnique({ where: { id: jobId }, include: { execution: true } });
  if (!job?.execution) return undefined;
  return {
    status: job.status,
    workflowId: job.workflowId,
    userId: job.userId,
    inputs: job.inputs,
    checkpoints: job.execution.checkpoints,
    retryCount: job.execution.retryCount,
    maxRetries: job.execution.maxRetries,
  };
}

/**
 * Takes the execution's lease (lib/engine/lease.ts) and reads the job under it, for runExecution's
 * `job`. Undefined when another live process holds the lease, or the job is gone. The common
 * case, a free lease, is one statement on PostgreSQL; taking over a dead owner's lease, and
 * clients without a direct connection, take the lease and read the job in two steps.
 */
export async function leaseAndLoadJob(database: Db, jobId: string, owner: string, ttlMs: number): Promise<LoadedJob | undefined> {
  const row = await takeFreeLeaseReading<JobRow>(database, jobId, owner, ttlMs, JOB_COLUMNS);
  if (!row && !(await acquireLease(database, jobId, owner, ttlMs))) return undefined;
  try {
    return row ? fromJobRow(row) : await loadJob(database, jobId);
  } catch (error) {
    // The lease is ours but the run cannot start: hand it back rather than hold it until it expires.
    await releaseLease(database, jobId, owner).catch(() => undefined);
    throw error;
  }
}

export function firstIncompleteStep(workflow: Workflow, checkpoints: Checkpoints): number {
  const index = workflow.config.steps.findIndex((_step, i) => checkpoints[String(i)]?.status !== "completed");
  return index === -1 ? workflow.config.steps.length : index;
}

interface ExecutionState {
  jobId: string;
  userId: string;
  inputs: Record<string, string>;
  checkpoints: Checkpoints;
  retryCount: number;
  maxRetries: number;
}

interface StepArgs {
  database: Db;
  workflow: Workflow;
  execution: ExecutionState;
  index: number;
  previous: Record<string, unknown>;
  options: RunOptions;
  logger: Logger;
  /** The step's start (running checkpoint, progress, event) was already committed by the previous step's end. */
  alreadyStarted?: boolean;
}

/** The writes that mark a step as started: its running checkpoint, the job's progress and a progress event. */
function stepStartWrites(workflow: Workflow, execution: ExecutionState, index: number) {
  const step = workflow.config.steps[index]!;
  const key = String(index);
  const startedAt = new Date().toISOString();
  const savedState = execution.checkpoints[key]?.state;
  execution.checkpoints[key] = { status: "running", started_at: startedAt, ...(savedState && { state: savedState }) };
  const progress = overallProgress(index, workflow.config.steps.length, 0);
  const event: JobEventInput = {
    type: "progress",
    data: { step: index, step_name: step.name, progress, step_progress: 0, message: step.label },
  };
  return { startedAt, progress, event };
}

async function executeStep(args: StepArgs): Promise<StepOutcome> {
  const { database, workflow, execution, index, options } = args;
  const { jobId } = execution;
  const step = workflow.config.steps[index]!;
  const stepCount = workflow.config.steps.length;
  const logger = args.logger.child({ step: index, step_name: step.name });
  const key = String(index);
  let startedAt: string;
  if (args.alreadyStarted) {
    startedAt = execution.checkpoints[key]!.started_at!;
  } else {
    const start = stepStartWrites(workflow, execution, index);
    startedAt = start.startedAt;
    await database.$transaction([
      database.workflowExecution.update({
        where: { jobId },
        data: { currentStep: index, checkpoints: execution.checkpoints as object },
      }),
      database.job.update({ where: { id: jobId }, data: { progress: start.progress } }),
      database.jobEvent.create({ data: { jobId, type: start.event.type, data: start.event.data as object } }),
    ]);
    notifyJobEvents(jobId);
  }
  logger.info("step started");

  // A database call of the engine's own (progress, state, the upload) failing inside the handler is
  // not the step's failure (e.g. PostgreSQL restarting): it must not be recorded as one. See the catch.
  let engineQueryFailure: { error: unknown } | undefined;
  const engineQuery = async <T>(query: () => Promise<T>): Promise<T> => {
    try {
      return await query();
    } catch (error) {
      engineQueryFailure ??= { error };
      throw error;
    }
  };
  const state: StepState = {
    get: () => execution.checkpoints[key]?.state,
    async save(value) {
      execution.checkpoints[key] = { ...execution.checkpoints[key]!, state: value };
      await engineQuery(() => database.workflowExecution.update({ where: { jobId }, data: { checkpoints: execution.checkpoints as object } }));
    },
  };

  let lastProgressWrite = 0;
  let lastPercent = -1;
  const context: StepContext = {
    jobId,
    userId: execution.userId,
    stepIndex: index,
    step,
    previous: args.previous,
    inputs: execution.inputs,
    signal: options.signal,
    state,
    providers: options.providers,
    log: logger,
    async progress(percent, message) {
      const clamped = Math.max(0, Math.min(100, Math.round(percent)));
      const now = Date.now();
      // Throttled: a chatty handler must not turn into a write per frame.
      if (clamped === lastPercent || (now - lastProgressWrite < 250 && clamped < 100)) return;
      lastProgressWrite = now;
      lastPercent = clamped;
      const progress = overallProgress(index, stepCount, clamped);
      await engineQuery(() => database.$transaction([
        database.job.update({ where: { id: jobId }, data: { progress } }),
        database.jobEvent.create({
          data: {
            jobId,
            type: "progress",
            data: { step: index, step_name: step.name, progress, step_progress: clamped, ...(message && { message }) },
          },
        }),
      ]));
      notifyJobEvents(jobId);
    },
    async readUpload() {
      const upload = await engineQuery(() => database.upload.findUnique({ where: { jobId } }));
      if (!upload) throw new CanceledError("The job's upload is gone");
      return { body: Buffer.from(upload.data), contentType: upload.contentType, filename: upload.filename };
    },
  };

  let output: Record<string, unknown>;
  try {
    const handler = workflow.handlers[step.name]!;
    output = await handler(context);
    if (options.signal.aborted) throw options.signal.reason;
  } catch (error) {
    if (options.signal.aborted && options.signal.reason instanceof ShutdownError) {
      logger.warn("step interrupted by shutdown; it resumes from its checkpoint");
      return { status: "interrupted" };
    }
    // Thrown on, not recorded: the runner sees an interrupted run, and recovery resumes the step.
    if (engineQueryFailure) throw engineQueryFailure.error;
    const classified: ClassifiedError = options.signal.aborted ? { kind: "canceled", message: "Canceled by user" } : classifyError(error);
    return recordFailure(args, classified, logger);
  }

  execution.checkpoints[key] = { status: "completed", output, started_at: startedAt, completed_at: new Date().toISOString() };
  const progress = overallProgress(index + 1, stepCount, 0);
  const events: JobEventInput[] = [
    { type: "progress", data: { step: index, step_name: step.name, progress, step_progress: 100 } },
    { type: "checkpoint", data: { step: index, step_name: step.name, status: "completed", output } },
  ];
  // With a continuous runner, one transaction also starts the next step or completes the job:
  // one commit per step instead of two (docs/performance.md).
  const isLast = index + 1 === stepCount;
  const next = index + 1;
  const startsNext = options.runner.continuous === true && !isLast && execution.checkpoints[String(next)]?.status !== "completed";
  const completesJob = options.runner.continuous === true && isLast;
  const previousNextCheckpoint = execution.checkpoints[String(next)];
  if (startsNext) events.push(stepStartWrites(workflow, execution, next).event);
  if (completesJob) events.push({ type: "complete", data: { result: output } });
  const stillRunning = await commitStep(database, {
    jobId,
    progress,
    currentStep: index + 1,
    checkpoints: execution.checkpoints,
    events,
    ...(completesJob && { completion: { result: output } }),
  });
  notifyJobEvents(jobId);
  if (!stillRunning) {
    // The next step's running checkpoint was never committed: forget it here too.
    if (startsNext) {
      if (previousNextCheckpoint) execution.checkpoints[String(next)] = previousNextCheckpoint;
      else delete execution.checkpoints[String(next)];
    }
    logger.info("step finished after the job was canceled; output discarded");
    return { status: "canceled" };
  }
  logger.info("step completed", { output });
  return { status: "completed", output, ...(startsNext && { nextStarted: true }), ...(completesJob && { jobCompleted: true }) };
}

async function recordFailure(args: StepArgs, failure: ClassifiedError, logger: Logger): Promise<StepOutcome> {
  const { database, workflow, execution, index, options } = args;
  const { jobId } = execution;
  const step = workflow.config.steps[index]!;
  const key = String(index);
  const state = execution.checkpoints[key]?.state;

  if (failure.kind === "canceled") {
    execution.checkpoints[key] = { status: "canceled", ...(state && { state }) };
    await database.$transaction(async (tx) => {
      await tx.workflowExecution.update({ where: { jobId }, data: { checkpoints: execution.checkpoints as object } });
      // A user's cancel already moved the job and wrote its event; a provider-side cancel did not.
      const updated = await tx.job.updateMany({
        where: { id: jobId, status: { in: ["running", "queued"] } },
        data: { status: "canceled", error: failure.message, errorCode: "canceled", completedAt: new Date() },
      });
      if (updated.count > 0) {
        await tx.jobEvent.create({
          data: { jobId, type: "error", data: { status: "canceled", code: "canceled", error: failure.message, step: index, step_name: step.name } },
        });
      }
    });
    notifyJobEvents(jobId);
    logger.info("step canceled");
    return { status: "canceled" };
  }

  const provider = failure.kind === "retryable" || failure.kind === "hard" ? failure.provider : undefined;
  if (failure.kind === "retryable") {
    // A step refused by an open circuit never reached the provider: it parks without spending an attempt.
    const retryCount = failure.parkOnly ? execution.retryCount : execution.retryCount + 1;
    if (retryCount < execution.maxRetries) {
      const delaySeconds = nextRetryDelaySeconds({
        retryCount,
        baseSeconds: workflow.config.retry?.backoff_seconds ?? options.retryBaseSeconds,
        ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
      });
      const nextRetryAt = new Date(Date.now() + delaySeconds * 1000);
      execution.checkpoints[key] = {
        status: "failed_retryable",
        error: failure.message,
        error_class: "retryable",
        error_reason: failure.reason,
        ...(state && { state }),
      } satisfies Checkpoint;
      const parked = await database.$transaction(async (tx) => {
        const updated = await tx.job.updateMany({
          where: { id: jobId, status: "running" },
          data: { status: "pending_retry", nextRetryAt, error: failure.message, errorCode: failure.reason },
        });
        if (updated.count === 0) return false;
        await tx.workflowExecution.update({
          where: { jobId },
          data: {
            checkpoints: execution.checkpoints as object,
            retryCount,
            lastError: failure.message,
            lastErrorClass: "retryable",
            lastErrorReason: failure.reason,
            lastErrorProvider: provider ?? null,
            leaseOwner: null,
            leaseExpiresAt: null,
          },
        });
        await tx.jobEvent.createMany({
          data: eventRows(jobId, [
            {
              type: "checkpoint",
              data: { step: index, step_name: step.name, status: "failed_retryable", error: failure.message, error_class: "retryable", error_reason: failure.reason },
            },
            {
              type: "retry_scheduled",
              data: {
                step: index,
                step_name: step.name,
                reason: failure.reason,
                error: failure.message,
                next_retry_at: nextRetryAt.toISOString(),
                retry_count: retryCount,
                max_retries: execution.maxRetries,
              },
            },
          ]),
        });
        return true;
      });
      notifyJobEvents(jobId);
      if (!parked) return { status: "canceled" };
      logger.warn("step failed, retry scheduled", { reason: failure.reason, error: failure.message, next_retry_at: nextRetryAt.toISOString(), retry_count: retryCount });
      return {
        status: "pending_retry",
        reason: failure.reason,
        nextRetryAt: nextRetryAt.toISOString(),
        ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
      };
    }
    const message = `Gave up after ${retryCount} attempts: ${failure.message}`;
    return recordHardFailure(args, { code: failure.reason, message, errorClass: "retryable", reason: failure.reason, provider, retryCount }, logger);
  }
  return recordHardFailure(args, { code: failure.code, message: failure.message, errorClass: "hard", reason: failure.code, provider }, logger);
}

async function recordHardFailure(
  args: StepArgs,
  failure: { code: string; message: string; errorClass: "retryable" | "hard"; reason: string; provider: string | undefined; retryCount?: number },
  logger: Logger,
): Promise<StepOutcome> {
  const { database, workflow, execution, index } = args;
  const { jobId } = execution;
  const step = workflow.config.steps[index]!;
  const key = String(index);
  const state = execution.checkpoints[key]?.state;
  execution.checkpoints[key] = {
    status: "failed",
    error: failure.message,
    error_class: failure.errorClass,
    error_reason: failure.reason,
    ...(state && { state }),
  };
  await database.$transaction(async (tx) => {
    const updated = await tx.job.updateMany({
      where: { id: jobId, status: "running" },
      data: { status: "failed", error: failure.message, errorCode: failure.code, nextRetryAt: null, completedAt: new Date() },
    });
    if (updated.count === 0) return;
    await tx.workflowExecution.update({
      where: { jobId },
      data: {
        checkpoints: execution.checkpoints as object,
        ...(failure.retryCount !== undefined && { retryCount: failure.retryCount }),
        lastError: failure.message,
        lastErrorClass: failure.errorClass,
        lastErrorReason: failure.reason,
        lastErrorProvider: failure.provider ?? null,
        leaseOwner: null,
        leaseExpiresAt: null,
      },
    });
    await tx.jobEvent.createMany({
      data: eventRows(jobId, [
        {
          type: "checkpoint",
          data: { step: index, step_name: step.name, status: "failed", error: failure.message, error_class: failure.errorClass, error_reason: failure.reason },
        },
        { type: "error", data: { status: "failed", code: failure.code, error: failure.message, step: index, step_name: step.name } },
      ]),
    });
  });
  notifyJobEvents(jobId);
  logger.warn("step failed", { code: failure.code, error: failure.message });
  return { status: "failed", code: failure.code, message: failure.message };
}

/** Fails a job outside any step (e.g. its workflow was uninstalled). */
export async function failJob(database: Db, jobId: string, code: string, message: string): Promise<void> {
  await database.$transaction(async (tx) => {
    const job = await tx.job.findUnique({ where: { id: jobId } });
    if (!job || isTerminalStatus(job.status)) return;
    await tx.job.update({ where: { id: jobId }, data: { status: "failed", error: message, errorCode: code, completedAt: new Date() } });
    await tx.jobEvent.create({ data: { jobId, type: "error", data: { status: "failed", code, error: message } } });
  });
  notifyJobEvents(jobId);
}

/**
 * The engine's hottest write, in SQL: a step's end (its checkpoint, the job's progress, its
 * events), together with the next step's start or the job's completion. Prisma's model queries
 * cost about 0.4 ms of CPU each on SQLite and a round trip each on PostgreSQL; written as SQL
 * this is one short transaction of three statements on SQLite and one statement (so one round
 * trip and one commit) on PostgreSQL. See docs/performance.md for the measurements.
 *
 * The write only happens while the job has the status it should have (running; queued for a
 * run's start); false means it had not (e.g. canceled), and then nothing was written.
 */
interface StepCommit {
  jobId: string;
  progress: number;
  currentStep: number;
  checkpoints: object;
  events: JobEventInput[];
  /** Set when this commit completes the job (its last step's end): the result, and the lease is released. */
  completion?: { result: object };
  /**
   * Set when this commit starts a run at its first step: "queued" also moves the job from queued
   * to running (a compare-and-set: false when it was not queued any more); "resumed" is a job
   * already running (after a crash), whose start is written whatever its status.
   */
  start?: "queued" | "resumed";
}

/** The jobs UPDATE of a commit: what it sets and which status it requires (undefined: none). */
function jobUpdate(c: StepCommit): { set: "progress" | "complete" | "start"; requiredStatus: string | undefined } {
  if (c.completion) return { set: "complete", requiredStatus: "running" };
  if (c.start === "queued") return { set: "start", requiredStatus: "queued" };
  if (c.start === "resumed") return { set: "progress", requiredStatus: undefined };
  return { set: "progress", requiredStatus: "running" };
}

async function commitStep(database: Db, commit: StepCommit): Promise<boolean> {
  const dialect = dialectOf(database);
  if (dialect === "postgresql") return commitPostgres(database, commit);
  if (dialect === "sqlite") return commitSqlite(database, commit);
  return commitWithModels(database, commit);
}

/** The SQL of a SQLite step commit: the jobs UPDATE, the workflow_executions UPDATE, the events INSERT. */
function sqliteCommitSql(c: StepCommit): { job: string; execution: string; events: string } {
  const job = jobUpdate(c);
  const guard = job.requiredStatus ? ` AND status = '${job.requiredStatus}'` : "";
  return {
    job:
      job.set === "complete"
        ? `UPDATE jobs SET status = 'completed', progress = 100, result = ?, error = NULL, error_code = NULL, completed_at = ?, updated_at = ? WHERE id = ?${guard}`
        : job.set === "start"
          ? `UPDATE jobs SET status = 'running', attempts = attempts + 1, next_retry_at = NULL, progress = ?, updated_at = ? WHERE id = ?${guard}`
          : `UPDATE jobs SET progress = ?, updated_at = ? WHERE id = ?${guard}`,
    execution: `UPDATE workflow_executions SET current_step = ?, checkpoints = ?, updated_at = ?${c.completion ? ", lease_owner = NULL, lease_expires_at = NULL" : ""} WHERE job_id = ?`,
    events: `INSERT INTO job_events (job_id, type, data, created_at) VALUES ${c.events.map(() => "(?, ?, ?, ?)").join(", ")}`,
  };
}

/** The parameters of those three statements, in order. */
function sqliteCommitParams(c: StepCommit, now: string): { job: unknown[]; execution: unknown[]; events: unknown[] } {
  const set = jobUpdate(c).set;
  return {
    job:
      set === "complete"
        ? [JSON.stringify(c.completion!.result), now, now, c.jobId]
        : [c.progress, now, c.jobId],
    execution: [c.currentStep, JSON.stringify(c.checkpoints), now, c.jobId],
    events: c.events.flatMap((event) => [c.jobId, event.type, JSON.stringify(event.data), now]),
  };
}

/**
 * The same three statements in one transaction on the client's own connection (see
 * onSqliteConnection), prepared once, with no await between them: about a tenth of the cost of
 * the same statements through Prisma's raw queries.
 */
function commitSqliteDirect(connection: SqliteConnection, c: StepCommit): boolean {
  const sql = sqliteCommitSql(c);
  const params = sqliteCommitParams(c, sqliteTime(new Date()));
  const updated = Number(sqliteStatement(connection, sql.job).run(...params.job).changes);
  if (updated === 0) return false;
  sqliteStatement(connection, sql.execution).run(...params.execution);
  if (c.events.length > 0) sqliteStatement(connection, sql.events).run(...params.events);
  return true;
}

async function commitSqlite(database: Db, c: StepCommit): Promise<boolean> {
  const direct = onSqliteConnection(database, (connection) => commitSqliteDirect(connection, c), { transaction: true });
  if (direct) return direct;
  // Not connected yet (or closed): the same statements through Prisma's raw queries.
  const sql = sqliteCommitSql(c);
  const params = sqliteCommitParams(c, sqliteTime(new Date()));
  return database.$transaction(async (tx) => {
    const updated = await tx.$executeRawUnsafe(sql.job, ...params.job);
    if (updated === 0) return false;
    await tx.$executeRawUnsafe(sql.execution, ...params.execution);
    if (c.events.length > 0) await tx.$executeRawUnsafe(sql.events, ...params.events);
    return true;
  });
}

/**
 * One statement: data-modifying CTEs run in one implicit transaction, and each later part only
 * writes when the job row was updated (it had the required status).
 */
async function commitPostgres(database: Db, c: StepCommit): Promise<boolean> {
  const now = postgresTime(new Date());
  const job = jobUpdate(c);
  const setJob = {
    complete: "status = 'completed', progress = $2, result = $7::jsonb, error = NULL, error_code = NULL, completed_at = $6::timestamp(3), updated_at = $6::timestamp(3)",
    start: "status = 'running', attempts = attempts + 1, next_retry_at = NULL, progress = $2, updated_at = $6::timestamp(3)",
    progress: "progress = $2, updated_at = $6::timestamp(3)",
  }[job.set];
  const guard = job.requiredStatus ? ` AND status = '${job.requiredStatus}'` : "";
  const releaseLease = c.completion ? ", lease_owner = NULL, lease_expires_at = NULL" : "";
  const sql = `
    WITH j AS (
      UPDATE jobs SET ${setJob} WHERE id = $1${guard} RETURNING id
    ), e AS (
      UPDATE workflow_executions SET current_step = $3, checkpoints = $4::jsonb, updated_at = $6::timestamp(3)${releaseLease}
      WHERE job_id = (SELECT id FROM j) RETURNING job_id
    ), ev AS (
      INSERT INTO job_events (job_id, type, data, created_at)
      SELECT j.id, x.type, x.data, $6::timestamp(3)
      FROM j, ROWS FROM (jsonb_to_recordset($5::jsonb) AS (type text, data jsonb)) WITH ORDINALITY AS x(type, data, n)
      ORDER BY x.n
      RETURNING id
    )
    SELECT (SELECT count(*) FROM j)::int AS updated, (SELECT count(*) FROM e)::int AS executions, (SELECT count(*) FROM ev)::int AS events`;
  const params: unknown[] = [
    c.jobId,
    c.completion ? 100 : c.progress,
    c.currentStep,
    JSON.stringify(c.checkpoints),
    JSON.stringify(c.events.map((event) => ({ type: event.type, data: event.data }))),
    now,
  ];
  // PostgreSQL wants exactly the parameters the statement uses: the result only when completing.
  if (c.completion) params.push(JSON.stringify(c.completion.result));
  const direct = onPostgresPool<{ updated: number }>(database, sql, params);
  const rows = direct ? (await direct).rows : await database.$queryRawUnsafe<{ updated: number }[]>(sql, ...params);
  return Number(rows[0]?.updated ?? 0) > 0;
}

/** A client created elsewhere (its dialect unknown): the same writes through Prisma's models. */
async function commitWithModels(database: Db, c: StepCommit): Promise<boolean> {
  const job = jobUpdate(c);
  return database.$transaction(async (tx) => {
    const updated = await tx.job.updateMany({
      where: { id: c.jobId, ...(job.requiredStatus && { status: job.requiredStatus }) },
      data:
        job.set === "complete"
          ? { status: "completed", progress: 100, result: c.completion!.result, error: null, errorCode: null, completedAt: new Date() }
          : job.set === "start"
            ? { status: "running", attempts: { increment: 1 }, nextRetryAt: null, progress: c.progress }
            : { progress: c.progress },
    });
    if (updated.count === 0) return false;
    await tx.workflowExecution.update({
      where: { jobId: c.jobId },
      data: { currentStep: c.currentStep, checkpoints: c.checkpoints, ...(c.completion && { leaseOwner: null, leaseExpiresAt: null }) },
    });
    await tx.jobEvent.createMany({ data: c.events.map((event) => ({ jobId: c.jobId, type: event.type, data: event.data as object })) });
    return true;
  });
}
