"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef } from "react";
import { Check, LayoutGrid } from "lucide-react";
import { errorMessage, postJson } from "@/components/api/client";
import type { JobActionResponse } from "@/components/api/types";
import type { JobView } from "@/components/jobs/job-state";
import { mediaOf, mediaSrc } from "@/components/jobs/media";
import type { TrackerStep } from "@/components/jobs/step-tracker";
import { jobQueryKey, runsQueryKey } from "@/components/jobs/use-job-live";
import { FramedImage } from "@/components/ui/media-frame";
import { Spinner } from "@/components/ui/states";
import { buttonClass } from "@/components/ui/styles";
import { formatDuration, useNow } from "@/components/ui/time";

/**
 * A run waiting for a pick among a step's candidates: the candidates side by side, large enough to
 * judge (videos play on hover or focus), how long the run has waited, and "Use this one" on each
 * candidate that succeeded. The pick is the step's output from then on, and the run goes on.
 */
export function CandidatesCard({ jobId, picking, steps, aspect }: { jobId: string; picking: NonNullable<JobView["picking"]>; steps: TrackerStep[]; aspect: number }) {
  const queryClient = useQueryClient();
  const now = useNow(1000);
  const pick = useMutation({
    mutationFn: (candidate: number) => postJson<JobActionResponse>(`/workflows/pick/${jobId}`, { step: picking.step, candidate }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
    },
  });
  const step = steps[picking.step];
  const next = steps[picking.step + 1];
  return (
    <section className="space-y-4 rounded-xl border border-violet-400/50 bg-slate-950 p-4" aria-labelledby={`candidates-${jobId}`} data-testid="candidates-card">
      <div className="space-y-1">
        <h3 id={`candidates-${jobId}`} className="flex items-center gap-2 text-sm font-semibold text-violet-100">
          <LayoutGrid aria-hidden className="size-4" />
          Pick a candidate for {step?.label ?? "this step"}
        </h3>
        <p className="text-sm text-slate-200">
          {picking.candidates.length} candidates are ready side by side. The one you use {next ? `goes on to ${next.label}` : "is the result"}; nothing more runs until you pick.
        </p>
        <p className="text-xs text-slate-300" data-testid="candidates-waited">
          Waiting{now === null ? "" : ` for ${formatDuration(now - new Date(picking.since).getTime())}`}
        </p>
      </div>
      <ul className="grid gap-3 sm:grid-cols-2" aria-label="Candidates">
        {picking.candidates.map((candidate) => {
          const media = mediaOf(candidate.output)[0];
          const label = `Candidate ${candidate.candidate}`;
          return (
            <li key={candidate.candidate} className="space-y-2 rounded-lg border border-slate-800 bg-slate-900 p-2" data-testid="candidate">
              <p className="text-sm font-medium text-slate-100">{label}</p>
              {candidate.status !== "completed" ? (
                <p className="text-sm text-red-300">Failed: {candidate.error ?? "no output"}</p>
              ) : media?.kind === "video" ? (
                <HoverVideo src={mediaSrc(media.url)} label={`${label} of ${step?.label ?? "the step"}`} aspect={aspect} />
              ) : media ? (
                <FramedImage src={mediaSrc(media.url)} alt={`${label} of ${step?.label ?? "the step"}`} aspect={aspect} className="w-full" />
              ) : null}
              {candidate.status === "completed" && (
                <button
                  type="button"
                  className={`${buttonClass("primary", "sm")} w-full`}
                  disabled={pick.isPending || pick.isSuccess}
                  aria-label={`Use candidate ${candidate.candidate}`}
                  onClick={() => pick.mutate(candidate.candidate)}
                >
                  {pick.isPending && pick.variables === candidate.candidate ? <Spinner /> : <Check aria-hidden className="size-4" />}
                  Use this one
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {pick.isError && (
        <p role="alert" className="text-sm text-red-300">
          {errorMessage(pick.error)}
        </p>
      )}
    </section>
  );
}

/** A video that plays (muted) while hovered or focused, and stops at its first frame otherwise. */
function HoverVideo({ src, label, aspect }: { src: string; label: string; aspect: number }) {
  const ref = useRef<HTMLVideoElement>(null);
  const play = () => void ref.current?.play().catch(() => undefined);
  const stop = () => {
    if (!ref.current) return;
    ref.current.pause();
    ref.current.currentTime = 0;
  };
  return (
    <video
      ref={ref}
      src={src}
      muted
      loop
      playsInline
      preload="metadata"
      tabIndex={0}
      aria-label={`${label} (plays while hovered or focused)`}
      onMouseEnter={play}
      onMouseLeave={stop}
      onFocus={play}
      onBlur={stop}
      className="w-full rounded-xl border border-slate-800 bg-slate-900 object-contain focus-visible:outline-2 focus-visible:outline-amber-400"
      style={{ aspectRatio: String(aspect) }}
    />
  );
}
