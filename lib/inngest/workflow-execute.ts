import "server-only";
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
import { runExecution } from "@/lib/engine/run-execution";
import type { RunOutcome } from "@/lib/engine/types";
import type { MontageInngest } from "@/lib/inngest/client";
import type { InngestDeps } from "@/lib/inngest/deps";
import { expireApproval } from "@/lib/engine/approval-timeouts";
import { jobApproved, jobCanceled, jobPicked, jobQueued, predictionCompleted, type JobQueuedData } from "@/lib/inngest/events";
import { InngestStepRunner, pauseOnShortRateLimits, StepIds, waitingForPrediction } from "@/lib/inngest/step-runner";
import type { RunSnapshot, Store } from "@/lib/store/types";

/** How long a run waits for a prediction's webhook event before checking the prediction itself. */
export const PREDICTION_WAIT_TIMEOUT = "10m";
/** How long a run waits for a prediction's webhook event: PREDICTION_WAIT_TIMEOUT, or until the run's deadline when that is sooner. */
export function predictionWaitTimeout(deadlineAt: Date | null, now: Date = new Date()): string | Date {
  if (deadlineAt === null) return PREDICTION_WAIT_TIMEOUT;
  return deadlineAt.getTime() - now.getTime() < 10 * 60_000 ? deadlineAt : PREDICTION_WAIT_TIMEOUT;
}

/** Waits per run before steps fall back to waiting inline (12 × 10 min: past any model's run time). */
export const MAX_PREDICTION_WAITS = 12;
/** How long one wait for a pick lasts; a job still awaiting its pick then waits again (a pick has no timeout). */
export const PICK_WAIT_TIMEOUT = "7d";
/** Inngest's retries of a step (and of the run's code between steps); the job's own retries are separate. */
export const INNGEST_RETRIES = 4;

export type WorkflowExecuteResult =
  | { status: "completed"; result: Record<string, unknown> }
  | { status: "pending_retry"; reason: string; next_retry_at: string }
  | { status: "canceled" }
  | { status: "skipped"; why: string };

function settle(jobId: string, outcome: Exclude<RunOutcome, { status: "interrupted" | "skipped" | "stopped" | "awaiting_approval" | "awaiting_input" }>): WorkflowExecuteResult {
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
async function settleFinishedJob(store: Store, jobId: string, attempt: number, why: string): Promise<WorkflowExecuteResult> {
  const job = await store.readJobState(jobId);
  if (!job || job.attempts !== attempt + 1) return { status: "skipped", why };
  switch (job.status) {
    case "completed":
      return settle(jobId, { status: "completed", result: job.result ?? {} });
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
function isCurrentAttempt(job: RunSnapshot, attempt: number): boolean {
  if (job.status === "queued") return job.attempts === attempt;
  if (job.status === "running") return job.attempts === attempt + 1;
  return true; // finished or parked: runExecution skips it, settleFinishedJob tells whose it was
}

/** The lease owner of the run of one queued attempt: every invocation of that run is the same owner. */
export function runOwner(data: JobQueuedData): string {
  return `inngest:job-${data.job_id}-${data.attempt}`;
}

/** Inngest's priority expression: seconds a run moves ahead in its queue (a job's later attempts first). */
export const RESUMED_RUN_PRIORITY = "event.data.attempt > 0 ? 120 : 0";

export function createWorkflowExecute(client: MontageInngest, deps: InngestDeps) {
  const { settings } = deps;
  return client.createFunction(
    {
      id: "workflow-execute",
      name: "Workflow execute",
      triggers: [{ event: jobQueued }],
      cancelOn: [{ event: jobCanceled, match: "data.job_id" }],
      // Fair turns: each user's runs queue under their own key (Inngest serves the keys in turn),
      // and a run resuming a job already underway goes ahead of fresh ones by up to two minutes.
      concurrency: [
        { key: "event.data.user_id", limit: settings.userConcurrency },
        { limit: settings.concurrency },
      ],
      priority: { run: RESUMED_RUN_PRIORITY },
      throttle: { limit: settings.runStartsPerMinute, period: "1m" },
      retries: INNGEST_RETRIES,
      onFailure: async ({ event, error }) => {
        // Inngest gave up on the run (its retries are spent): fail a job still queued or running
        // instead of leaving it with nobody to finish it. A manual retry resumes it.
        const parsed = jobQueued.schema.safeParse(event.data.event.data);
        if (!parsed.success) return;
        const message = "The Inngest run failed after its retries; retry the job to resume it.";
        deps.engine.logger.error("inngest run failed after its retries", { job_id: parsed.data.job_id, err: error });
        await deps.engine.store.failJob(undefined, {
          jobId: parsed.data.job_id,
          code: "run_failed",
          message,
          errorClass: "hard",
          provider: null,
          events: [{ type: "error", data: { status: "failed", code: "run_failed", error: message } }],
        });
        deps.engine.notifier.notify(parsed.data.job_id);
      },
    },
    async ({ event, step, attempt, maxAttempts }): Promise<WorkflowExecuteResult> => {
      const jobId = event.data.job_id;
      const { store } = deps.engine;
      const logger = deps.engine.logger.child({ job_id: jobId, inngest_attempt: attempt });
      const engine = { ...deps.engine, logger, providers: pauseOnShortRateLimits(deps.engine.providers, deps.scope) };
      const owner = runOwner(event.data);
      const lastAttempt = maxAttempts !== undefined && attempt >= maxAttempts - 1;
      const ids = new StepIds();

      /** True once the step is picked (the event came, or the database says so); false when the job ended meanwhile. */
      const waitForPick = async (jobId: string, stepIndex: number): Promise<boolean> => {
        for (;;) {
          const picked = await step.waitForEvent(ids.next(`wait-pick-${stepIndex}`), {
            event: jobPicked,
            if: `async.data.job_id == '${jobId}' && async.data.step == ${stepIndex}`,
            timeout: PICK_WAIT_TIMEOUT,
          });
          if (picked) {
            logger.info("candidate picked; resuming", { step: stepIndex, candidate: picked.data.candidate });
            return true;
          }
          // Picked in the database but the event lost: resume all the same.
          const state = await store.readJobState(jobId);
          if (state?.status === "running") return true;
          if (state?.status !== "awaiting_input") return false;
        }
      };

      for (let waits = 0; ; waits++) {
        // Every invocation (and every pass after a wait) takes the execution again, as the same owner: the
        // epoch grows, so an older invocation of this run still finishing somewhere cannot write.
        const leased = await store.leaseRun(jobId, owner, { ttlMs: null });
        if (!leased) {
          const job = await store.readJobState(jobId);
          if (!job) return { status: "skipped", why: "job not found" };
          // Held by an older run's invocation for a moment: let Inngest retry this one, rather than lose the attempt.
          if (job?.status === "queued" && job.attempts === event.data.attempt) throw new Error(`Job ${jobId} is held by another run; Inngest retries`);
          logger.warn("stale event: another run owns the job", { event_attempt: event.data.attempt });
          return { status: "skipped", why: `attempt ${event.data.attempt} is not the job's current attempt` };
        }
        if (!isCurrentAttempt(leased.job, event.data.attempt)) {
          await store.releaseLease(jobId, leased.fence);
          logger.warn("stale event: another run owns the job's current attempt", { event_attempt: event.data.attempt });
          return { status: "skipped", why: `attempt ${event.data.attempt} is not the job's current attempt` };
        }
        const runner = new InngestStepRunner({
          run: (id, fn) => step.run(id, fn),
          ids,
          scope: deps.scope,
          store,
          jobId,
          cancelPollMs: settings.cancelPollMs,
          allowSuspend: waits < MAX_PREDICTION_WAITS,
          allowPause: !lastAttempt,
        });
        const outcome = await runExecution(engine, { leased, runner, signal: runner.signal });
        if (outcome.status === "skipped" || outcome.status === "stopped") {
          await store.releaseLease(jobId, leased.fence);
          return settleFinishedJob(store, jobId, event.data.attempt, outcome.why);
        }
        // A canceled step leaves the lease (nothing else ends the run): hand it back, so a retry's run finds it free.
        if (outcome.status === "canceled") await store.releaseLease(jobId, leased.fence);
        if (outcome.status === "awaiting_approval") {
          // The job waits for a person (the lease is released with the wait). The approve route sends
          // the event; a reject or a cancel ends this run (cancelOn); no answer in time fails the job.
          const approved = await step.waitForEvent(ids.next(`wait-approval-${outcome.stepIndex}`), {
            event: jobApproved,
            if: `async.data.job_id == '${jobId}' && async.data.step == ${outcome.stepIndex}`,
            timeout: new Date(outcome.until),
          });
          if (approved) {
            logger.info("step approved; resuming", { step: outcome.stepIndex });
            continue;
          }
          // Approved in the database but the event lost: resume all the same; else the wait timed out.
          const state = await store.readJobState(jobId);
          if (state?.status === "running") continue;
          if (await expireApproval(store, jobId, new Date(outcome.until))) deps.engine.notifier.notify(jobId);
          return { status: "skipped", why: "the approval wait timed out" };
        }
        if (outcome.status === "awaiting_input") {
          // The step's candidates are done (each was a parallel step.run) and the job waits for a
          // pick: the pick route sends the event; a cancel ends this run (cancelOn). A pick has no
          // timeout: a wait that ends with the job still awaiting its pick waits again.
          if (await waitForPick(jobId, outcome.stepIndex)) continue;
          return { status: "skipped", why: "the job no longer awaits a pick" };
        }
        if (outcome.status !== "interrupted") return settle(jobId, outcome);

        const predictionId = waitingForPrediction(outcome);
        // Nothing else interrupts a step under Inngest; if something did, a retry resumes from the checkpoint.
        if (!predictionId) throw new Error(`A step of job ${jobId} was interrupted; Inngest retries it from its checkpoint`);
        const completed = await step.waitForEvent(ids.next(`wait-prediction-${predictionId}`), {
          event: predictionCompleted,
          if: `async.data.prediction_id == '${predictionId}'`,
          // A run with a deadline wakes at it at the latest: the next pass fails it and cancels the prediction.
          timeout: predictionWaitTimeout(leased.job.deadlineAt),
        });
        logger.info(completed ? "prediction finished; resuming its step" : "no webhook event in time; the step checks the prediction itself", {
          prediction_id: predictionId,
          ...(completed && { prediction_status: completed.data.status }),
        });
      }
    },
  );
}
