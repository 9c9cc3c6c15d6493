import type { Checkpoint, Checkpoints, JobEventInput } from "@/lib/contract/events";
import { isTerminalStatus } from "@/lib/contract/events";
import { db, type Db } from "@/lib/db/client";
import { classifyError, CanceledError, type ClassifiedError } from "@/lib/engine/errors";
import { nextRetryDelaySeconds } from "@/lib/engine/backoff";
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
}

export const directStepRunner: StepRunner = { step: (_id, fn) => fn() };

/** Raised into a step when the process is shutting down: nothing is recorded, the lease lapses and recovery resumes it. */
export class ShutdownError extends Error {
  override readonly name = "ShutdownError";
  constructor() {
    super("Server shutting down");
  }
}

export type StepOutcome =
  | { status: "completed"; output: Record<string, unknown> }
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
  const job = await database.job.findUnique({ where: { id: jobId }, include: { execution: true } });
  if (!job?.execution) return { status: "skipped", why: "job not found" };
  if (job.status !== "queued" && job.status !== "running") return { status: "skipped", why: `job is ${job.status}` };
  const workflow = (options.findWorkflow ?? findWorkflow)(job.workflowId);
  const logger = (options.logger ?? rootLog).child({ job_id: jobId, workflow_id: job.workflowId });
  if (!workflow) {
    await failJob(database, jobId, "unknown_workflow", `Workflow ${job.workflowId} is not installed`);
    return { status: "failed", code: "unknown_workflow", message: `Workflow ${job.workflowId} is not installed` };
  }

  if (job.status === "queued") {
    const started = await database.job.updateMany({
      where: { id: jobId, status: "queued" },
      data: { status: "running", attempts: { increment: 1 }, nextRetryAt: null },
    });
    if (started.count === 0) return { status: "skipped", why: "job changed state" };
  }

  const execution = {
    jobId,
    userId: job.userId,
    inputs: job.inputs as Record<string, string>,
    checkpoints: (job.execution.checkpoints ?? {}) as unknown as Checkpoints,
    retryCount: job.execution.retryCount,
    maxRetries: job.execution.maxRetries || options.defaultMaxRetries,
  };
  logger.info("execution started", { from_step: firstIncompleteStep(workflow, execution.checkpoints) });

  const steps = workflow.config.steps;
  let previous: Record<string, unknown> = {};
  for (let index = 0; index < steps.length; index++) {
    const saved = execution.checkpoints[String(index)];
    if (saved?.status === "completed") {
      previous = saved.output ?? {};
      continue;
    }
    const outcome = await options.runner.step(stepId(index, steps[index]!.name), () =>
      executeStep({ database, workflow, execution, index, previous, options, logger }),
    );
    if (outcome.status !== "completed") return outcome;
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
}

async function executeStep(args: StepArgs): Promise<StepOutcome> {
  const { database, workflow, execution, index, options } = args;
  const { jobId } = execution;
  const step = workflow.config.steps[index]!;
  const stepCount = workflow.config.steps.length;
  const logger = args.logger.child({ step: index, step_name: step.name });
  const key = String(index);
  const startedAt = new Date().toISOString();
  const savedState = execution.checkpoints[key]?.state;
  execution.checkpoints[key] = { status: "running", started_at: startedAt, ...(savedState && { state: savedState }) };

  const startProgress = overallProgress(index, stepCount, 0);
  await database.$transaction([
    database.workflowExecution.update({
      where: { jobId },
      data: { currentStep: index, checkpoints: execution.checkpoints as object },
    }),
    database.job.update({ where: { id: jobId }, data: { progress: startProgress } }),
    database.jobEvent.create({
      data: {
        jobId,
        type: "progress",
        data: { step: index, step_name: step.name, progress: startProgress, step_progress: 0, message: step.label },
      },
    }),
  ]);
  notifyJobEvents(jobId);
  logger.info("step started");

  const state: StepState = {
    get: () => execution.checkpoints[key]?.state,
    async save(value) {
      execution.checkpoints[key] = { ...execution.checkpoints[key]!, state: value };
      await database.workflowExecution.update({ where: { jobId }, data: { checkpoints: execution.checkpoints as object } });
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
      await database.$transaction([
        database.job.update({ where: { id: jobId }, data: { progress } }),
        database.jobEvent.create({
          data: {
            jobId,
            type: "progress",
            data: { step: index, step_name: step.name, progress, step_progress: clamped, ...(message && { message }) },
          },
        }),
      ]);
      notifyJobEvents(jobId);
    },
    async readUpload() {
      const upload = await database.upload.findUnique({ where: { jobId } });
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
    const classified: ClassifiedError = options.signal.aborted ? { kind: "canceled", message: "Canceled by user" } : classifyError(error);
    return recordFailure(args, classified, logger);
  }

  execution.checkpoints[key] = { status: "completed", output, started_at: startedAt, completed_at: new Date().toISOString() };
  const progress = overallProgress(index + 1, stepCount, 0);
  const stillRunning = await database.$transaction(async (tx) => {
    const updated = await tx.job.updateMany({ where: { id: jobId, status: "running" }, data: { progress } });
    if (updated.count === 0) return false;
    await tx.workflowExecution.update({
      where: { jobId },
      data: { currentStep: index + 1, checkpoints: execution.checkpoints as object },
    });
    await tx.jobEvent.createMany({
      data: eventRows(jobId, [
        { type: "progress", data: { step: index, step_name: step.name, progress, step_progress: 100 } },
        { type: "checkpoint", data: { step: index, step_name: step.name, status: "completed", output } },
      ]),
    });
    return true;
  });
  notifyJobEvents(jobId);
  if (!stillRunning) {
    logger.info("step finished after the job was canceled; output discarded");
    return { status: "canceled" };
  }
  logger.info("step completed", { output });
  return { status: "completed", output };
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
