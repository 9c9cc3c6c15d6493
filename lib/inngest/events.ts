import "server-only";
/**
 * The events Montage sends to Inngest: names and payloads defined once, used by the driver that
 * sends them, the functions they trigger and the webhook route. Listed in docs/inngest.md.
 */
import { eventType } from "inngest";
import { z } from "zod";

/** A job is ready to run (new, manually retried, or resumed by the retry sweep). */
export const jobQueued = eventType("montage/job.queued", {
  schema: z.object({
    job_id: z.string().min(1),
    /** Concurrency key: one user's jobs share a limit. */
    user_id: z.string().min(1),
    /** The job's `attempts` when it was queued: with the job id it names this run (the event id). */
    attempt: z.number().int().min(0),
  }),
});

/** A user canceled a job: cancels its run (`cancelOn`). The database already says canceled. */
export const jobCanceled = eventType("montage/job.canceled", {
  schema: z.object({ job_id: z.string().min(1), user_id: z.string().min(1) }),
});

/** Sent by the Replicate webhook route; a run parked in `step.waitForEvent` resumes on it. */
export const predictionCompleted = eventType("montage/replicate.prediction.completed", {
  schema: z.object({ prediction_id: z.string().min(1), status: z.string().min(1) }),
});

/** A person approved the step a job waits before (POST /workflows/approve): its run, in `step.waitForEvent`, resumes. */
export const jobApproved = eventType("montage/job.approved", {
  schema: z.object({ job_id: z.string().min(1), step: z.number().int().min(0) }),
});

export function jobApprovedEvent(jobId: string, stepIndex: number) {
  // One event per job and step: a repeated send wakes nothing twice.
  return { id: `approved-${jobId}-${stepIndex}`, name: jobApproved.name, data: { job_id: jobId, step: stepIndex } };
}

/** A person picked one of a step's candidates (POST /workflows/pick): the job's run, in `step.waitForEvent`, resumes. */
export const jobPicked = eventType("montage/job.picked", {
  schema: z.object({ job_id: z.string().min(1), step: z.number().int().min(0), candidate: z.number().int().min(1) }),
});

export function jobPickedEvent(jobId: string, stepIndex: number, candidate: number) {
  // One event per job and step: a step is picked once, and a repeated send wakes nothing twice.
  return { id: `picked-${jobId}-${stepIndex}`, name: jobPicked.name, data: { job_id: jobId, step: stepIndex, candidate } };
}

export type JobQueuedData = z.infer<typeof jobQueued.schema>;

interface QueuedJob {
  id: string;
  userId: string;
  attempts: number;
}

/**
 * One event per job attempt: its id makes a second send of the same attempt a no-op (Inngest
 * deduplicates event ids for 24 hours), so a retried send, or the sweep re-sending an event that
 * was delivered after all, never starts a second run.
 */
export function jobQueuedEvent(job: QueuedJob) {
  return {
    id: `job-${job.id}-${job.attempts}`,
    name: jobQueued.name,
    data: { job_id: job.id, user_id: job.userId, attempt: job.attempts } satisfies JobQueuedData,
  };
}

export type JobQueuedEvent = ReturnType<typeof jobQueuedEvent>;

export function jobCanceledEvent(job: { id: string; userId: string }) {
  return { name: jobCanceled.name, data: { job_id: job.id, user_id: job.userId } };
}

/** What the Replicate webhook route sends once a verified webhook reports a finished prediction. */
export function predictionCompletedEvent(prediction: { id: string; status: string }) {
  return {
    // One event per prediction and final status: Replicate's webhook retries do not wake a run twice.
    id: `prediction-${prediction.id}-${prediction.status}`,
    name: predictionCompleted.name,
    data: { prediction_id: prediction.id, status: prediction.status },
  };
}
