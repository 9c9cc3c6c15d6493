"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { Ban, RotateCcw, RotateCw } from "lucide-react";
import { apiFetch, errorMessage } from "@/components/api/client";
import type { JobActionResponse } from "@/components/api/types";
import { isActiveStatus, type JobView } from "@/components/jobs/job-state";
import type { RetryPress } from "@/components/jobs/parked-notice";
import { jobQueryKey, runsQueryKey } from "@/components/jobs/use-job-live";
import { Spinner } from "@/components/ui/states";
import { buttonClass } from "@/components/ui/styles";

/**
 * Retry (now) and Cancel, as the run's status allows, plus Run again for a run that has ended.
 * `onRetried` runs once the server has queued the retry, with the press (its time and the last
 * event seen when it happened): the panel follows the run again and remembers the press, so that a
 * run held again says so (ParkedNotice).
 */
export function JobActions({
  jobId,
  view,
  onRetried,
  runAgain,
}: {
  jobId: string;
  view: JobView;
  onRetried: (press: RetryPress) => void;
  runAgain: { onClick?: (() => void) | undefined; href: string };
}) {
  const queryClient = useQueryClient();
  const action = useMutation({
    mutationFn: (kind: "retry" | "cancel") => apiFetch<JobActionResponse>(`/workflows/${kind}/${jobId}`, { method: "POST" }),
    // The press is remembered as it happens: the stream may deliver the retry's outcome (held again)
    // before the request's answer, and events seen by then are already the outcome.
    onMutate: (): RetryPress => ({ at: new Date().toISOString(), afterEventId: view.lastEventId }),
    onSuccess: (_data, kind, press) => {
      void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      if (kind === "retry" && press) onRetried(press);
    },
  });
  const canRetry = view.status === "failed" || view.status === "pending_retry" || view.status === "canceled";
  const canCancel = isActiveStatus(view.status);
  const ended = !isActiveStatus(view.status);
  const retrying = action.isPending && action.variables === "retry";
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        {canRetry && (
          <button type="button" className={buttonClass("primary")} disabled={action.isPending} onClick={() => action.mutate("retry")}>
            {retrying ? <Spinner /> : <RotateCcw aria-hidden className="size-4" />}
            {retrying ? "Retrying…" : view.status === "pending_retry" ? "Retry now" : "Retry"}
          </button>
        )}
        {ended &&
          (runAgain.onClick ? (
            <button type="button" className={buttonClass("secondary")} onClick={runAgain.onClick}>
              <RotateCw aria-hidden className="size-4" />
              Run again
            </button>
          ) : (
            <Link href={runAgain.href} className={buttonClass("secondary")}>
              <RotateCw aria-hidden className="size-4" />
              Run again
            </Link>
          ))}
        {canCancel && (
          <button type="button" className={buttonClass("danger")} disabled={action.isPending} onClick={() => action.mutate("cancel")}>
            {action.isPending && action.variables === "cancel" ? <Spinner /> : <Ban aria-hidden className="size-4" />}
            Cancel run
          </button>
        )}
      </div>
      {action.isError && (
        <p role="alert" className="text-sm text-red-300">
          {errorMessage(action.error)}
        </p>
      )}
    </div>
  );
}
