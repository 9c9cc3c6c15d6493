"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Check, Hand, X } from "lucide-react";
import { errorMessage, postJson } from "@/components/api/client";
import type { JobActionResponse } from "@/components/api/types";
import type { JobView } from "@/components/jobs/job-state";
import { MediaThumb, type MediaContext } from "@/components/jobs/media-viewer";
import type { TrackerStep } from "@/components/jobs/step-tracker";
import { jobQueryKey, runsQueryKey } from "@/components/jobs/use-job-live";
import { Spinner } from "@/components/ui/states";
import { buttonClass, inputClass, labelClass } from "@/components/ui/styles";
import { formatDuration, formatMoment, useNow } from "@/components/ui/time";

/**
 * A run waiting before a step for a person's go-ahead: what the previous step made, large enough to
 * judge, how long the run has waited and until when, and Approve / Reject with a comment.
 */
export function ApprovalCard({ jobId, awaiting, steps, media }: { jobId: string; awaiting: NonNullable<JobView["awaiting"]>; steps: TrackerStep[]; media: MediaContext }) {
  const queryClient = useQueryClient();
  const commentId = useId();
  const [comment, setComment] = useState("");
  const now = useNow(1000);
  const decide = useMutation({
    mutationFn: (approve: boolean) => postJson<JobActionResponse>(`/workflows/approve/${jobId}`, { approve, ...(comment.trim() && { comment: comment.trim() }) }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
    },
  });
  const step = steps[awaiting.step];
  const previous = steps[awaiting.step - 1];
  const outputs = media.all.filter((item) => item.step === awaiting.step - 1);
  return (
    <section className="space-y-4 rounded-xl border border-violet-400/50 bg-slate-950 p-4" aria-labelledby={`approval-${jobId}`} data-testid="approval-card">
      <div className="space-y-1">
        <h3 id={`approval-${jobId}`} className="flex items-center gap-2 text-sm font-semibold text-violet-100">
          <Hand aria-hidden className="size-4" />
          Approve before {step?.label ?? "the next step"}?
        </h3>
        <p className="text-sm text-slate-200">
          The run stopped after {previous?.label ?? "the previous step"} and waits for you; nothing more runs or is paid for until you decide.
        </p>
        <p className="text-xs text-slate-300" data-testid="approval-waited">
          Waiting {now === null ? "" : `for ${formatDuration(now - new Date(awaiting.since).getTime())}`}
          {now !== null && ` · fails at ${formatMoment(awaiting.until, now)} without an answer`}
        </p>
      </div>
      {outputs.length > 0 && (
        <div className="flex flex-wrap gap-3">
          {outputs.map((item) => (
            <MediaThumb key={item.key} media={item} context={media} className="w-64 sm:w-80" />
          ))}
        </div>
      )}
      <div className="space-y-1.5">
        <label htmlFor={commentId} className={labelClass}>
          Comment (optional)
        </label>
        <textarea id={commentId} rows={2} maxLength={1000} value={comment} onChange={(event) => setComment(event.currentTarget.value)} className={`${inputClass} resize-y`} />
      </div>
      <div className="flex flex-wrap gap-2">
        <button type="button" className={buttonClass("primary")} disabled={decide.isPending || decide.isSuccess} onClick={() => decide.mutate(true)}>
          {decide.isPending && decide.variables ? <Spinner /> : <Check aria-hidden className="size-4" />}
          Approve
        </button>
        <button type="button" className={buttonClass("danger")} disabled={decide.isPending || decide.isSuccess} onClick={() => decide.mutate(false)}>
          {decide.isPending && !decide.variables ? <Spinner /> : <X aria-hidden className="size-4" />}
          Reject
        </button>
      </div>
      {decide.isError && (
        <p role="alert" className="text-sm text-red-300">
          {errorMessage(decide.error)}
        </p>
      )}
    </section>
  );
}
