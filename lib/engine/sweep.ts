import "server-only";
import { expireDeadlines } from "@/lib/engine/deadlines";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { Logger } from "@/lib/log";
import type { HealthStatus } from "@/lib/providers/types";
import type { QueuedJob, Store } from "@/lib/store/types";

export interface SweepOptions {
  store: Store;
  batchSize: number;
  /** Health check by provider name; a job whose failing provider is unknown is treated as healthy. */
  checkHealth(provider: string): Promise<HealthStatus>;
  /** How long to wait before looking again at a job whose provider is still unhealthy. */
  recheckSeconds: number;
  logger: Logger;
  now?: Date;
  notifier?: JobNotifier;
  /** Cancels the paid work of a job failed past its deadline (EngineDeps.cancelSavedWork). */
  cancelSavedWork?: (jobId: string) => Promise<void>;
}

export interface SweepResult {
  due: number;
  /** Jobs moved from pending_retry back to queued: the caller starts them. */
  resumed: QueuedJob[];
  deferred: number;
  /** Waiting jobs failed because their deadline passed. */
  expired: string[];
}

/**
 * The retry sweep: finds due pending_retry jobs (oldest first, one bounded batch), checks each
 * failing provider's health once, and claims the jobs of healthy providers by moving them to
 * queued (a compare-and-set, so two sweeps never both claim one job). Unhealthy providers' jobs
 * are looked at again later without spending an attempt. It also deletes expired idempotency keys.
 */
export async function sweepDueJobs(options: SweepOptions): Promise<SweepResult> {
  const { store, logger } = options;
  const now = options.now ?? new Date();
  // Expired idempotency keys go with the same tick (one bounded batch): both drivers run this sweep.
  await store.deleteExpiredIdempotencyKeys(now, options.batchSize);
  // Jobs past their deadline fail first: none of them is claimed below.
  const expired = await expireDeadlines({ store, logger, batchSize: options.batchSize, now, ...(options.notifier && { notifier: options.notifier }), ...(options.cancelSavedWork && { cancelSavedWork: options.cancelSavedWork }) });
  const due = await store.findDueRetries(now, options.batchSize);
  const health = new Map<string, HealthStatus>();
  const resumed: QueuedJob[] = [];
  let deferred = 0;
  for (const { jobId, provider } of due) {
    if (provider && !health.has(provider)) {
      health.set(provider, await options.checkHealth(provider).catch((error: unknown) => ({ healthy: false, detail: String(error) })));
    }
    const status = provider ? health.get(provider)! : { healthy: true };
    if (!status.healthy) {
      await store.deferRetry(jobId, new Date(now.getTime() + options.recheckSeconds * 1000));
      deferred++;
      continue;
    }
    const claimed = await store.claimRetry(jobId);
    if (claimed) resumed.push(claimed);
  }
  for (const [provider, status] of health) {
    if (!status.healthy) logger.warn("provider still unhealthy; parked jobs wait", { provider, detail: status.detail });
  }
  if (due.length > 0) logger.info("retry sweep", { due: due.length, resumed: resumed.length, deferred });
  return { due: due.length, resumed, deferred, expired };
}
