import "server-only";
/**
 * `workflow-retry-sweep`: the retry sweep as an Inngest cron (WORKFLOW_RETRY_CRON, every five
 * minutes by default). It claims due pending_retry jobs whose provider is healthy (sweepDueJobs,
 * the same code as in-process) and sends their resume events, one bounded batch at a time: each
 * batch is one memoized step and one `step.sendEvent` with an array, and a tick handles at most
 * MAX_SWEEP_BATCHES batches; the rest waits for the next tick.
 *
 * Orphan recovery is not needed (Inngest retries what it started), but a job can be queued
 * without its event ever reaching Inngest (a failed send, a crash right after the job was created,
 * a claimed batch whose send failed): queued jobs untouched for a while get their event re-sent.
 * The event id is the same as the first time, so Inngest drops it if the first one did arrive
 * (within the 24 hours Inngest remembers event ids).
 */
import { sweepDueJobs } from "@/lib/engine/sweep";
import type { MontageInngest } from "@/lib/inngest/client";
import type { InngestDeps } from "@/lib/inngest/deps";
import { jobQueuedEvent, type JobQueuedEvent } from "@/lib/inngest/events";

/** Batches per tick: bounds one tick to MAX_SWEEP_BATCHES × sweepBatch resumed jobs. */
export const MAX_SWEEP_BATCHES = 10;
/** A queued job untouched this long is assumed to have lost its event. */
export const UNSENT_QUEUED_AFTER_MS = 10 * 60_000;
/**
 * Inngest drops a repeated event id for 24 hours. Past that a re-send could start a second run of
 * the same attempt next to a first one still waiting in Inngest's queue, so older jobs are only
 * reported (they had a re-send on every tick for almost a day).
 */
export const UNSENT_QUEUED_BEFORE_MS = 23 * 3600_000;

export interface SweepBatch {
  due: number;
  deferred: number;
  events: JobQueuedEvent[];
}

export function createWorkflowRetrySweep(client: MontageInngest, deps: InngestDeps) {
  const { settings } = deps;
  return client.createFunction(
    {
      id: "workflow-retry-sweep",
      name: "Workflow retry sweep",
      triggers: [{ cron: settings.retryCron }],
      // Overlapping sweeps would be safe (claims are compare-and-set) but pointless.
      concurrency: 1,
    },
    async ({ step }) => {
      const { store } = deps.engine;
      const logger = deps.engine.logger.child({ component: "retry-sweep" });
      let resumed = 0;
      let deferred = 0;
      for (let batch = 0; batch < MAX_SWEEP_BATCHES; batch++) {
        const swept: SweepBatch = await step.run(`claim-due-jobs-${batch}`, async () => {
          const result = await sweepDueJobs({
            store,
            batchSize: settings.sweepBatch,
            checkHealth: (provider) => deps.checkHealth(provider),
            recheckSeconds: settings.recheckSeconds,
            logger,
            notifier: deps.engine.notifier,
            ...(deps.engine.cancelSavedWork && { cancelSavedWork: (jobId: string) => deps.engine.cancelSavedWork!(jobId) }),
          });
          return { due: result.due, deferred: result.deferred, events: result.resumed.map(jobQueuedEvent) };
        });
        deferred += swept.deferred;
        if (swept.events.length > 0) {
          await step.sendEvent(`resume-jobs-${batch}`, swept.events);
          resumed += swept.events.length;
        }
        if (swept.due < settings.sweepBatch) break;
      }

      const unsent: JobQueuedEvent[] = await step.run("find-unsent-queued-jobs", async () => {
        const now = Date.now();
        const abandoned = await store.countQueuedBefore(new Date(now - UNSENT_QUEUED_BEFORE_MS));
        if (abandoned > 0) logger.error("queued jobs never started within a day: cancel and retry them once Inngest is reachable", { jobs: abandoned });
        const jobs = await store.findQueuedBetween(new Date(now - UNSENT_QUEUED_BEFORE_MS), new Date(now - UNSENT_QUEUED_AFTER_MS), settings.sweepBatch);
        return jobs.map(jobQueuedEvent);
      });
      if (unsent.length > 0) {
        await step.sendEvent("resend-queued-jobs", unsent);
        logger.warn("re-sent the events of queued jobs that never started", { jobs: unsent.length });
      }
      if (deps.dispatchWebhooks) await step.run("dispatch-webhooks", () => deps.dispatchWebhooks!());
      return { resumed, deferred, resent: unsent.length };
    },
  );
}
