import "server-only";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { Logger } from "@/lib/log";
import type { Store } from "@/lib/store/types";

/**
 * Fails the awaiting_approval jobs whose wait ended before `now` with approval_timeout. A decision
 * or a cancel made meanwhile wins (each is a compare-and-set on awaiting_approval), and so does a
 * wait asked for again since (the timeout names the end of the wait it read: awaiting_until). The retry sweep
 * never looks at these jobs: only this does, on the in-process runner's tick (under Inngest the
 * run's step.waitForEvent times out instead).
 */
export async function expireApprovals(options: { store: Store; notifier: JobNotifier; logger: Logger; batchSize: number; now?: Date }): Promise<string[]> {
  const { store, notifier, logger } = options;
  const expired: string[] = [];
  for (const { jobId, until } of await store.findExpiredApprovals(options.now ?? new Date(), options.batchSize)) {
    if (await expireApproval(store, jobId, until)) {
      expired.push(jobId);
      notifier.notify(jobId);
      logger.info("approval timed out; job failed", { job_id: jobId });
    }
  }
  return expired;
}

export const APPROVAL_TIMEOUT_MESSAGE = "Nobody approved the next step in time.";

/** Ends the wait that ends at `until` (only that one: a later wait for the same job is not touched). */
export function expireApproval(store: Store, jobId: string, until: Date): Promise<boolean> {
  return store.expireApproval(jobId, until, { type: "error", data: { status: "failed", code: "approval_timeout", error: APPROVAL_TIMEOUT_MESSAGE } });
}
