import "server-only";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { Run } from "@/lib/engine/run";
import type { Logger } from "@/lib/log";
import type { Store } from "@/lib/store/types";
import { DeadlineError, isDeadlineError, type ClassifiedError } from "@/lib/workflows/errors";

/**
 * Deadlines: a step's `timeout_seconds` (config.json) and a run's `deadline_seconds` (execute).
 *
 * While a step runs, one timer (the earlier of the two) aborts the step's signal with a
 * `DeadlineError`: the handler's provider call stops (local models at once; Replicate cancels its
 * prediction, which was also created with `Cancel-After`). The step then ends as its config says
 * (`on_timeout`: a retryable `timeout`, or a hard failure), and a run past its deadline fails with
 * `deadline_exceeded`. A job that waits (queued, parked, awaiting approval) past its deadline is
 * failed by the sweep (`expireDeadlines`) and never resumed; a retry that would come after the
 * deadline is not scheduled (lib/engine/record-failure.ts).
 */

export const DEADLINE_EXCEEDED = "deadline_exceeded";

export function deadlineMessage(deadlineAt: Date): string {
  return `The run did not finish by its deadline (${deadlineAt.toISOString()}).`;
}

/** Whether a job with this deadline may still run at `at`. */
export function pastDeadline(deadlineAt: Date | null, at: Date = new Date()): boolean {
  return deadlineAt !== null && at.getTime() >= deadlineAt.getTime();
}

export interface StepClock {
  /** When the step must have ended (the earlier of its timeout and the run's deadline), if either is set. */
  readonly endsAt: Date | undefined;
  /** The clock's abort reason once it has run out (also when the handler failed in the same moment for another reason). */
  expired(): DeadlineError | undefined;
  clear(): void;
}

/** Arms the step's timer: when it runs out, `controller` is aborted with a DeadlineError. */
export function armStepClock(run: Run, index: number, controller: AbortController): StepClock {
  const step = run.workflow.config.steps[index]!;
  const startedAt = Date.now();
  const stepEnd = step.timeout_seconds !== undefined ? startedAt + step.timeout_seconds * 1000 : undefined;
  const runEnd = run.job.deadlineAt?.getTime();
  if (stepEnd === undefined && runEnd === undefined) return { endsAt: undefined, expired: () => undefined, clear: () => undefined };
  // The run's deadline wins a tie: a step cut short by it cannot succeed on a retry either.
  const byRun = runEnd !== undefined && (stepEnd === undefined || runEnd <= stepEnd);
  const endsAt = byRun ? runEnd! : stepEnd!;
  const reason = () =>
    byRun
      ? new DeadlineError("run", deadlineMessage(run.job.deadlineAt!))
      : new DeadlineError("step", `The step "${step.label}" ran longer than its ${step.timeout_seconds} s timeout.`);
  const fire = () => {
    if (!controller.signal.aborted) controller.abort(reason());
  };
  const timer = setTimeout(fire, Math.max(0, endsAt - startedAt));
  return {
    endsAt: new Date(endsAt),
    expired() {
      if (Date.now() >= endsAt) fire();
      const current = controller.signal.reason as unknown;
      return controller.signal.aborted && isDeadlineError(current) ? current : undefined;
    },
    clear: () => clearTimeout(timer),
  };
}

/** How a step stopped by its clock is recorded: the run's deadline fails the job; a step's timeout as its config says. */
export function classifyDeadline(run: Run, index: number, error: DeadlineError): ClassifiedError {
  if (error.scope === "run") return { kind: "hard", code: DEADLINE_EXCEEDED, message: error.message };
  const step = run.workflow.config.steps[index]!;
  if (step.on_timeout === "fail") return { kind: "hard", code: "timeout", message: error.message };
  return { kind: "retryable", reason: "timeout", message: error.message };
}

/**
 * Fails the jobs that wait (queued, parked, awaiting approval) past their deadline, and cancels
 * the paid work their steps saved (a parked step's prediction may still be running). Both drivers'
 * sweeps call it before they claim due retries, so a job past its deadline is never resumed.
 */
export async function expireDeadlines(options: {
  store: Store;
  notifier?: JobNotifier;
  logger: Logger;
  batchSize: number;
  now?: Date;
  cancelSavedWork?: (jobId: string) => Promise<void>;
}): Promise<string[]> {
  const { store, logger } = options;
  const expired: string[] = [];
  for (const jobId of await store.findExpiredDeadlines(options.now ?? new Date(), options.batchSize)) {
    const message = "The run did not finish by its deadline.";
    const failed = await store.expireDeadline(jobId, { message, event: { type: "error", data: { status: "failed", code: DEADLINE_EXCEEDED, error: message } } });
    if (!failed) continue;
    expired.push(jobId);
    options.notifier?.notify(jobId);
    logger.info("job passed its deadline while waiting; failed", { job_id: jobId });
    await options.cancelSavedWork?.(jobId).catch((error: unknown) => logger.warn("could not cancel the expired job's provider work", { job_id: jobId, err: error }));
  }
  return expired;
}
