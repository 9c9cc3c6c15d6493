import "server-only";
import { onceForKey, requestHash, type Answer } from "@/lib/jobs/idempotency";
import { jobToJson } from "@/lib/jobs/serialize";
import { retryJob, type JobsDeps } from "@/lib/jobs/service";

/**
 * POST /workflows/retry/<id>, with an optional Idempotency-Key: a client that resends its retry
 * (its first answer lost) gets the first answer again instead of a 409 for a job already queued.
 */
export function retryJobOnce(deps: JobsDeps, userId: string, jobId: string, idempotencyKey: string | undefined): Promise<Answer> {
  return onceForKey(deps.store, { userId, key: idempotencyKey, requestHash: requestHash(["POST /workflows/retry", jobId]), jobId }, async () => {
    const job = await retryJob(deps, userId, jobId);
    return { status: 200, body: { success: true, job: jobToJson(job), stream_url: `/jobs/${job.id}/stream` } };
  });
}
