"use client";

import type { Attempts } from "@/lib/jobs/attempts";
import type { JobView, StepView } from "@/components/jobs/job-state";
import { parkedMessage, serviceOf } from "@/components/jobs/parked-message";
import { formatClock, formatRelative, useNow } from "@/components/ui/time";

/** A Retry now the person pressed: when, and the last event seen then (later events are its outcome). */
export interface RetryPress {
  at: string;
  afterEventId: number;
}

/**
 * A parked step: what is happening and what the person can do, in their words (parked-message.ts),
 * when the next automatic try is, and, after Retry now, that it was tried and held again. The
 * provider's own message is kept behind "Technical details".
 */
export function ParkedNotice({
  view,
  step,
  stepType,
  attempts,
  retried,
}: {
  view: JobView;
  step: StepView;
  stepType: string;
  attempts: Attempts;
  retried: RetryPress | null;
}) {
  const now = useNow(1000);
  const reason = step.reason ?? view.errorCode;
  const nextRetryAt = view.status === "pending_retry" ? view.nextRetryAt : null;
  const clock = now !== null && nextRetryAt ? formatClock(nextRetryAt) : null;
  const message = parkedMessage({ reason, service: serviceOf(stepType), nextRetryAt: clock, attempts });
  const heldAgain = retried !== null && view.status === "pending_retry" && view.lastEventId > retried.afterEventId;
  return (
    <div className="mt-3 space-y-1.5 rounded-lg border border-amber-500/40 bg-amber-950 p-3 text-sm text-amber-50" data-testid="parked-notice" data-reason={reason ?? ""}>
      <p className="font-semibold text-amber-100">{message.title}</p>
      <p>{message.body}</p>
      <p>{message.advice}</p>
      {nextRetryAt && (
        <p className="text-amber-100" data-testid="next-retry">
          Next automatic try at{" "}
          <time dateTime={nextRetryAt} className="font-medium tabular-nums" suppressHydrationWarning>
            {clock ?? ""}
          </time>
          {now !== null && <span> ({formatRelative(nextRetryAt, now)})</span>}
        </p>
      )}
      {heldAgain && (
        <p className="font-medium text-amber-100" data-testid="retry-feedback">
          Tried again at {retried.at} as you asked: it had to wait again, for the reason above.
        </p>
      )}
      {step.error && (
        <details className="text-amber-100">
          <summary className="cursor-pointer text-xs">Technical details</summary>
          <p className="mt-1 break-words font-mono text-xs">{step.error}</p>
        </details>
      )}
    </div>
  );
}
