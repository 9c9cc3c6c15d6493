import type { JobStatus } from "@/lib/contract/events";

/**
 * How Montage counts attempts: the one rule behind the API's `attempts`, the run tracker and the run
 * page, and the same count as the engine's "Gave up after N attempts". Pure, so the server and the
 * browser share it.
 *
 * An attempt is one try of the job's current step that reached its provider. Each failed one is
 * recorded in the execution's `retry_count`, and the job fails once that reaches `max_attempts` (the
 * workflow's `retry.max_attempts`, else WORKFLOW_MAX_ATTEMPTS). Two things are not attempts:
 * - a try the provider health gate held back before it reached the provider (the job parks, and
 *   `retry_count` does not move);
 * - anything before a manual retry: it starts a fresh series of `max_attempts` attempts
 *   (`retry_count` back to 0).
 */
export interface AttemptFacts {
  status: JobStatus;
  /** workflow_executions.retry_count: failed attempts counted in this series. */
  retryCount: number;
  /** workflow_executions.max_attempts: the attempts a series may make. */
  maxAttempts: number;
}

export interface Attempts {
  /** Attempts made in this series, the one in progress included. */
  made: number;
  /** The attempt a queued or parked job makes next (1-based); null when none is coming. */
  next: number | null;
  /** How many attempts the series may make before the job fails. */
  limit: number;
}

export function countAttempts({ status, retryCount, maxAttempts }: AttemptFacts): Attempts {
  const limit = Math.max(1, maxAttempts);
  const failed = Math.min(Math.max(0, retryCount), limit);
  switch (status) {
    case "queued":
    case "pending_retry":
      return { made: failed, next: Math.min(failed + 1, limit), limit };
    case "running":
    case "awaiting_approval":
    case "awaiting_input":
    case "completed":
      // The attempt in progress (a wait for approval pauses it, spending nothing), or the one that succeeded, on top of the failed ones.
      return { made: Math.min(failed + 1, limit), next: null, limit };
    case "failed":
      // Gave up after the limit, or failed for good on the attempt in progress.
      return { made: failed >= limit ? limit : failed + 1, next: null, limit };
    case "canceled":
      // A canceled try is not counted: it neither failed nor succeeded.
      return { made: failed, next: null, limit };
  }
}

/** "attempt 2 of 5": how the interface names an attempt, everywhere. */
export function attemptLabel(attempt: number, limit: number): string {
  return `attempt ${attempt} of ${limit}`;
}
