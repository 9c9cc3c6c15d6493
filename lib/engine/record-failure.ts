import "server-only";
import { randomBytes } from "node:crypto";
import { nextRetryDelaySeconds } from "@/lib/engine/backoff";
import { DEADLINE_EXCEEDED, deadlineMessage, pastDeadline } from "@/lib/engine/deadlines";
import type { Run } from "@/lib/engine/run";
import type { StepOutcome } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";
import type { ClassifiedError } from "@/lib/workflows/errors";

/**
 * Routes a step's failure by its class: a cancel records the step as canceled; a retryable error
 * parks the job until its backoff is over (or fails it after the last attempt); a hard error
 * fails it; an error nobody typed fails it with a generic message and an error id, under which
 * the full error (stack and cause) is logged: raw messages never reach the job, the stream or the API.
 */
export async function recordFailure(run: Run, index: number, failure: ClassifiedError, logger: Logger, candidate = 0): Promise<StepOutcome> {
  const { deps, workflow, job, fence } = run;
  const step = workflow.config.steps[index]!;
  const jobId = job.jobId;
  // A candidate's failure is recorded on its own checkpoint row, and its events say which candidate.
  const of = candidate > 0 ? { candidate } : {};

  if (failure.kind === "canceled") {
    await deps.store.cancelStep(fence, {
      jobId,
      stepIndex: index,
      candidate,
      message: failure.message,
      event: { type: "error", data: { status: "canceled", code: "canceled", error: failure.message, step: index, step_name: step.name } },
    });
    deps.notifier.notify(jobId);
    logger.info("step canceled");
    return { status: "canceled" };
  }

  if (failure.kind === "retryable") {
    // A step refused by an open circuit never reached the provider: it parks without spending an attempt.
    const retryCount = failure.parkOnly ? job.retryCount : job.retryCount + 1;
    const provider = failure.provider ?? null;
    if (retryCount >= job.maxAttempts) {
      return fail(run, index, { code: failure.reason, message: `Gave up after ${retryCount} attempts: ${failure.message}`, errorClass: "retryable", reason: failure.reason, provider, retryCount }, logger, candidate);
    }
    const delaySeconds = nextRetryDelaySeconds({
      retryCount,
      baseSeconds: workflow.config.retry?.backoff_seconds ?? deps.retryBackoffSeconds,
      ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
    });
    const nextRetryAt = new Date(Date.now() + delaySeconds * 1000);
    // A retry that would come after the run's deadline is not scheduled: the work the step left
    // running is canceled (before the failure is visible, so nobody sees a failed job still paying), and the job fails now.
    if (pastDeadline(job.deadlineAt, nextRetryAt)) {
      await deps.cancelSavedWork?.(jobId);
      return fail(run, index, { code: DEADLINE_EXCEEDED, message: deadlineMessage(job.deadlineAt!), errorClass: "hard", reason: DEADLINE_EXCEEDED, provider, retryCount }, logger);
    }
    const parked = await deps.store.parkJob(fence, {
      jobId,
      step: { stepIndex: index, candidate, error: failure.message, errorClass: "retryable", errorReason: failure.reason },
      retryCount,
      nextRetryAt,
      provider,
      events: [
        { type: "checkpoint", data: { step: index, step_name: step.name, status: "failed_retryable", error: failure.message, error_class: "retryable", error_reason: failure.reason, ...of } },
        {
          type: "retry_scheduled",
          data: { step: index, step_name: step.name, reason: failure.reason, error: failure.message, next_retry_at: nextRetryAt.toISOString(), retry_count: retryCount, max_retries: job.maxAttempts },
        },
      ],
    });
    deps.notifier.notify(jobId);
    if (!parked) return { status: "stopped", why: "job changed state or was taken over" };
    logger.warn("step failed, retry scheduled", { reason: failure.reason, error: failure.message, next_retry_at: nextRetryAt.toISOString(), retry_count: retryCount });
    return {
      status: "pending_retry",
      reason: failure.reason,
      nextRetryAt: nextRetryAt.toISOString(),
      ...(failure.retryAfterSeconds !== undefined && { retryAfterSeconds: failure.retryAfterSeconds }),
    };
  }

  if (failure.kind === "unknown") {
    const errorId = randomBytes(6).toString("hex");
    logger.error("step failed with an unexpected error", { error_id: errorId, err: failure.error });
    const message = `The step "${step.label}" failed with an unexpected error (error id ${errorId}); the server log has the details under this id.`;
    return fail(run, index, { code: "step_failed", message, errorClass: "hard", reason: "step_failed", provider: null }, logger, candidate);
  }
  return fail(run, index, { code: failure.code, message: failure.message, errorClass: "hard", reason: failure.code, provider: failure.provider ?? null }, logger, candidate);
}

/** The job fails at this step (with `candidate`, the failure is that candidate's checkpoint). */
export async function fail(
  run: Run,
  index: number,
  failure: { code: string; message: string; errorClass: "retryable" | "hard"; reason: string; provider: string | null; retryCount?: number },
  logger: Logger,
  candidate = 0,
): Promise<StepOutcome> {
  const { deps, workflow, job, fence } = run;
  const step = workflow.config.steps[index]!;
  const failed = await deps.store.failJob(fence, {
    jobId: job.jobId,
    step: { stepIndex: index, candidate, error: failure.message, errorClass: failure.errorClass, errorReason: failure.reason },
    code: failure.code,
    message: failure.message,
    errorClass: failure.errorClass,
    provider: failure.provider,
    ...(failure.retryCount !== undefined && { retryCount: failure.retryCount }),
    events: [
      { type: "checkpoint", data: { step: index, step_name: step.name, status: "failed", error: failure.message, error_class: failure.errorClass, error_reason: failure.reason, ...(candidate > 0 && { candidate }) } },
      { type: "error", data: { status: "failed", code: failure.code, error: failure.message, step: index, step_name: step.name } },
    ],
  });
  deps.notifier.notify(job.jobId);
  if (!failed) return { status: "stopped", why: "job changed state or was taken over" };
  logger.warn("step failed", { code: failure.code, error: failure.message });
  return { status: "failed", code: failure.code, message: failure.message };
}
