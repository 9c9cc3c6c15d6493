import "server-only";
import { ApiError, isApiError } from "@/lib/api/errors";
import type { bulkFilterSchema } from "@/lib/api/schemas";
import type { JobStatus } from "@/lib/contract/events";
import { cancelJob, retryJob, type JobsDeps } from "@/lib/jobs/service";
import type { JobFilter, JobKey } from "@/lib/store/types";
import type { z } from "zod";

/** Jobs acted on per batch: each batch is read, then acted on, before the next is read. */
export const BULK_BATCH = 100;

const ACTIONS = {
  cancel: { states: ["queued", "running", "pending_retry", "awaiting_approval", "awaiting_input"] as JobStatus[], act: cancelJob },
  retry: { states: ["failed", "pending_retry", "canceled"] as JobStatus[], act: retryJob },
} as const;

export type BulkAction = keyof typeof ACTIONS;

/**
 * POST /jobs/cancel and /jobs/retry: the action on every one of the caller's jobs the filter
 * matches (only jobs in a state the action applies to can match), a batch at a time, oldest first.
 * Each job goes through the same use case as its single-job route, so a job that changed state
 * meanwhile is skipped, not forced. Answers how many matched, how many were acted on, and skipped.
 */
export async function bulkAct(deps: JobsDeps, userId: string, action: BulkAction, filter: z.infer<typeof bulkFilterSchema>) {
  const { states, act } = ACTIONS[action];
  const statuses = filter.status ? filter.status.filter((status) => states.includes(status)) : states;
  if (filter.status && statuses.length === 0) {
    throw new ApiError("invalid_request", `Only ${states.join(", ")} jobs can be ${action === "cancel" ? "canceled" : "retried"}.`);
  }
  const selection: JobFilter = {
    statuses,
    ...(filter.workflow_id !== undefined && { workflowId: filter.workflow_id }),
    ...(filter.created_after && { createdAfter: new Date(filter.created_after) }),
    ...(filter.created_before && { createdBefore: new Date(filter.created_before) }),
    ...(filter.job_ids && { jobIds: filter.job_ids }),
  };
  let matched = 0;
  let acted = 0;
  let after: JobKey | undefined;
  for (;;) {
    const batch = await deps.store.findJobIds(userId, selection, BULK_BATCH, after);
    for (const job of batch) {
      matched++;
      try {
        await act(deps, userId, job.id);
        acted++;
      } catch (error) {
        // Changed state since it was read (or its workflow changed): skipped, like a single request would be refused.
        if (!isApiError(error) || error.status !== 409) throw error;
      }
    }
    if (batch.length < BULK_BATCH) break;
    after = batch.at(-1);
  }
  return { success: true as const, matched, [action === "cancel" ? "canceled" : "retried"]: acted, skipped: matched - acted };
}
