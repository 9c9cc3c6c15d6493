import "server-only";
import type { WorkflowDriver } from "@/lib/engine/driver";
import { jobApprovedEvent, jobCanceledEvent, jobPickedEvent, jobQueuedEvent } from "@/lib/inngest/events";
import type { Logger } from "@/lib/log";
import type { Store } from "@/lib/store/types";

export interface InngestDriverOptions {
  store: Store;
  /** `inngest.send`: events go to Inngest, which calls /api/inngest to run them. */
  send(event: ReturnType<typeof jobQueuedEvent> | ReturnType<typeof jobCanceledEvent> | ReturnType<typeof jobApprovedEvent> | ReturnType<typeof jobPickedEvent>): Promise<unknown>;
  logger: Logger;
}

/**
 * The driver when Montage runs on Inngest: starting a job is sending its event, and Inngest
 * drives everything else (the workflow-execute function, retries, the retry-sweep cron), so
 * start and stop have nothing to do.
 *
 * A failed send is logged, not thrown: the job is already stored as queued, and the retry sweep
 * re-sends the events of queued jobs that never started (lib/inngest/workflow-retry-sweep.ts).
 */
export function createInngestDriver(options: InngestDriverOptions): WorkflowDriver {
  const { store, send, logger } = options;
  return {
    name: "inngest",
    start: async () => undefined,
    stop: async () => undefined,

    async enqueue(jobId) {
      const job = await store.readQueuedJob(jobId);
      if (!job) return;
      try {
        await send(jobQueuedEvent(job));
      } catch (error) {
        logger.error("could not send the job's event to Inngest; the retry sweep re-sends it", { job_id: jobId, err: error });
      }
    },

    async resumeApproved(jobId, stepIndex) {
      try {
        await send(jobApprovedEvent(jobId, stepIndex));
      } catch (error) {
        // The job is approved in the database (running, no lease): the run's wait ends at its timeout and it resumes then.
        logger.error("could not send the approval event to Inngest", { job_id: jobId, err: error });
      }
    },

    async resumePicked(jobId, stepIndex, candidate) {
      try {
        await send(jobPickedEvent(jobId, stepIndex, candidate));
      } catch (error) {
        // The pick is in the database (running, no lease): the run's wait checks the job when it times out, and resumes then.
        logger.error("could not send the pick event to Inngest", { job_id: jobId, err: error });
      }
    },

    async interrupt(jobId) {
      const job = await store.readQueuedJob(jobId);
      if (!job) return;
      try {
        await send(jobCanceledEvent(job));
      } catch (error) {
        // The job is canceled in the database: a running step notices within seconds, and a run
        // between steps stops at its next step (runExecution skips a canceled job).
        logger.warn("could not send the cancel event to Inngest", { job_id: jobId, err: error });
      }
    },
  };
}
