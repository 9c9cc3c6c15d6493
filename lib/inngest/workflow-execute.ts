/**
 * `workflow-execute`: runs one attempt of a job on Inngest, triggered by `montage/job.queued`.
 * The engine is the same as in-process (runExecution: same checkpoints, same job events); only
 * the step runner differs. How each outcome ends the run:
 *
 * - completed → the run returns `{ status: "completed", result }` (URLs only).
 * - pending_retry (quota, auth, outage, open circuit, long rate limits, timeouts) → the job is
 *   parked in the database as in-process and the run returns `{ status: "pending_retry" }`
 *   without spending Inngest retries: the retry sweep resumes the job with a new event, hence a
 *   new run, so nothing memoized in this run can shadow the resumed attempt.
 * - a short rate limit → the step throws RetryAfterError and Inngest retries that step (see
 *   step-runner.ts); on Inngest's last attempt the job parks instead.
 * - failed (HardError, or retries used up) → the database records the failure first, then the
 *   run ends with NonRetriableError.
 * - canceled / skipped → the run returns; the database already says why.
 * - a step suspended on a long prediction → `step.waitForEvent`, then the step runs again.
 */
import { NonRetriableError } from "inngest";
import type { Db } from "@/lib/db/client";
import { failJob, runExecution, type RunOutcome } from "@/lib/engine/executor";
import type { InngestDeps } from "@/lib/inngest/deps";
import { jobCanceled, jobQueued, predictionCompleted } from "@/lib/inngest/events";
import type { MontageInngest } from "@/lib/inngest/client";
import { InngestStepRunner, pauseOnShortRateLimits, StepIds, waitingForPrediction } from "@/lib/inngest/step-runner";

/** How long a run waits for a prediction's webhook event before checking the prediction itself. */
export const PREDICTION_WAIT_TIMEOUT = "10m";
/** Waits per run before steps fall back to waiting inline (12 × 10 min: past any model's run time). */
export const MAX_PREDICTION_WAITS = 12;
/** Inngest's retries of a step (and of the run's code between steps); the job's own retries are separate. */
export const INNGEST_RETRIES = 4;

export type WorkflowExecuteResult =
  | { status: "completed"; result: Record<string, unknown> }
  | { status: "pending_retry"; reason: string; next_retry_at: string }
  | { status: "canceled" }
  | { status: "skipped"; why: string };

function settle(jobId: string, outcome: Exclude<RunOutcome, { status: "interrupted" | "skipped" }>): WorkflowExecuteResult {
  switch (outcome.status) {
    case "completed":
      return { status: "completed", result: outcome.result };
    case "pending_retry":
      return { status: "pending_retry", reason: outcome.reason, next_retry_at: outcome.nextRetryAt };
    case "canceled":
      return { status: "canceled" };
    case "failed":
      // The job is already failed in the database; retrying the run could not change that.
      throw new NonRetriableError(`Job ${jobId} failed: ${outcome.message} (${outcome.code})`);
  }
}

/**
 * Settles a run whose executor found nothing to do. Under Inngest that is usually a replay: the
 * step that parked, failed or finished the job ran in an earlier invocation, whose memoized
 * outcome the executor never asks for, because the database (the source of truth) already says
 * the job is no longer running. The job's `attempts` tells whether this run made that change (it
 * counted itself in when it started the job: attempts = event attempt + 1); if so the run ends the
 * way its outcome did; if not, the event is stale (another run owns the job) and the run is skipped.
 */
async function settleFinishedJob(database: Db, jobId: string, attempt: number, why: string): Promise<WorkflowExecuteResult> {
  const job = await database.job.findUnique({ where: { id: jobId } });
  if (!job || job.attempts !== attempt + 1) return { status: "skipped", why };
  switch (job.status) {
    case "completed":
      return settle(jobId, { status: "completed", result: (job.result ?? {}) as Record<string, unknown> });
    case "pending_retry":
      return settle(jobId, { status: "pending_retry", reason: job.errorCode ?? "", nextRetryAt: job.nextRetryAt?.toISOString() ?? "" });
    case "failed":
      return settle(jobId, { status: "failed", code: job.errorCode ?? "failed", message: job.error ?? "failed" });
    case "canceled":
      return settle(jobId, { status: "canceled" });
    default:
      return { status: "skipped", why };
  }
}

/**
 * Whether this run's event still names the job's current attempt. Every move to queued has its
 * own `attempts` value and starting the job counts it, so a job queued at attempt K, or running
 * since attempt K started it (attempts K + 1), belongs to the run of attempt K's event. Any other
 * run is stale, e.g. one whose cancel event was lost while the user retried the job: it must not
 * run steps next to the job's current run.
 */
async function isCurrentAttempt(database: Db, jobId: string, attempt: number): Promise<boolean> {
  const job = await database.job.findUnique({ where: { id: jobId }, select: { status: true, attempts: true } });
  if (job?.status === "queued") return job.attempts === attempt;
  if (job?.status === "running") return job.attempts === attempt + 1;
  return true; // finished or parked: runExecution skips it, settleFinishedJob tells whose it was
}

export function createWorkflowExecute(client: MontageInngest, deps: InngestDeps) {
  const { settings } = deps;
  return client.createFunction(
    {
      id: "workflow-execute",
      name: "Workflow execute",
      triggers: [{ event: jobQueued }],
      cancelOn: [{ event: jobCanceled, match: "data.job_id" }],
      concurrency: [
        { key: "event.data.user_id", limit: settings.userConcurrency },
        { limit: settings.concurrency },
      ],
      throttle: { limit: settings.runStartsPerMinute, period: "1m" },
      retries: INNGEST_RETRIES,
      onFailure: async ({ event, error }) => {
        // Inngest gave up on the run (its retries are spent): fail a job still marked as running
        // instead of leaving it running with nobody to finish it. A manual retry resumes it.
        const parsed = jobQueued.schema.safeParse(event.data.event.data);
        if (!parsed.success) return;
        const database = deps.database();
        const job = await database.job.findUnique({ where: { id: parsed.data.job_id }, select: { status: true } });
        if (job?.status !== "running" && job?.status !== "queued") return;
        await failJob(database, parsed.data.job_id, "run_failed", `The Inngest run failed after its retries: ${error.message}`);
      },
    },
    async ({ event, step, attempt, maxAttempts }): Promise<WorkflowExecuteResult> => {
      const jobId = event.data.job_id;
      const database = deps.database();
      const logger = deps.logger.child({ job_id: jobId, inngest_attempt: attempt });
      const providers = pauseOnShortRateLimits(deps.providers());
      const lastAttempt = maxAttempts !== undefined && attempt >= maxAttempts - 1;
      const ids = new StepIds();
      if (!(await isCurrentAttempt(database, jobId, event.data.attempt))) {
        logger.warn("stale event: another run owns the job's current attempt", { event_attempt: event.data.attempt });
        return { status: "skipped", why: `attempt ${event.data.attempt} is not the job's current attempt` };
      }

      for (let waits = 0; ; waits++) {
        const runner = new InngestStepRunner({
          run: (id, fn) => step.run(id, fn),
          ids,
          database,
          jobId,
          cancelPollMs: settings.cancelPollMs,
          allowSuspend: waits < MAX_PREDICTION_WAITS,
          allowPause: !lastAttempt,
        });
        const outcome = await runExecution(jobId, {
          runner,
          providers,
          signal: runner.signal,
          retryBaseSeconds: settings.retryBaseSeconds,
          defaultMaxRetries: settings.maxRetries,
          database,
          logger,
          ...(deps.findWorkflow && { findWorkflow: deps.findWorkflow }),
        });
        if (outcome.status === "skipped") return settleFinishedJob(database, jobId, event.data.attempt, outcome.why);
        if (outcome.status !== "interrupted") return settle(jobId, outcome);

        const predictionId = waitingForPrediction(outcome);
        // Nothing else interrupts a step under Inngest; if something did, a retry resumes from the checkpoint.
        if (!predictionId) throw new Error(`A step of job ${jobId} was interrupted; Inngest retries it from its checkpoint`);
        const completed = await step.waitForEvent(ids.next(`wait-prediction-${predictionId}`), {
          event: predictionCompleted,
          if: `async.data.prediction_id == '${predictionId}'`,
          timeout: PREDICTION_WAIT_TIMEOUT,
        });
        logger.info(completed ? "prediction finished; resuming its step" : "no webhook event in time; the step checks the prediction itself", {
          prediction_id: predictionId,
          ...(completed && { prediction_status: completed.data.status }),
        });
      }
    },
  );
}
