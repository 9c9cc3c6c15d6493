"use client";

import { Ban, Check, CircleX, Clock, LoaderCircle } from "lucide-react";
import type { Checkpoints } from "@/lib/contract/events";
import type { Attempts } from "@/lib/jobs/attempts";
import { queueText, stepView, type JobView, type StepStatus } from "@/components/jobs/job-state";
import { MediaThumb, type MediaContext } from "@/components/jobs/media-viewer";
import { ParkedNotice, type RetryPress } from "@/components/jobs/parked-notice";
import { formatDuration, useNow } from "@/components/ui/time";

export interface TrackerStep {
  name: string;
  label: string;
  type: string;
}

export const STEP_STATUS: Record<StepStatus, { className: string; text: string }> = {
  pending: { className: "border-slate-700 bg-slate-900 text-slate-300", text: "Waiting" },
  running: { className: "border-sky-400 bg-sky-950 text-sky-200", text: "Running" },
  completed: { className: "border-emerald-400 bg-emerald-950 text-emerald-200", text: "Done" },
  parked: { className: "border-amber-400 bg-amber-950 text-amber-200", text: "Paused, will retry" },
  failed: { className: "border-red-400 bg-red-950 text-red-200", text: "Failed" },
  canceled: { className: "border-slate-600 bg-slate-800 text-slate-300", text: "Canceled" },
};

export function StepIndicator({ status, index, small = false }: { status: StepStatus; index: number; small?: boolean }) {
  const iconClass = small ? "size-3.5" : "size-4";
  const icon = {
    pending: <span className="text-xs font-semibold">{index + 1}</span>,
    running: <LoaderCircle className={`${iconClass} animate-spin motion-reduce:animate-none`} />,
    completed: <Check className={iconClass} />,
    parked: <Clock className={iconClass} />,
    failed: <CircleX className={iconClass} />,
    canceled: <Ban className={iconClass} />,
  }[status];
  return (
    <span aria-hidden className={`relative z-10 flex ${small ? "size-6" : "size-8"} shrink-0 items-center justify-center rounded-full border-2 ${STEP_STATUS[status].className}`}>
      {icon}
    </span>
  );
}

export type ProgressTone = "sky" | "amber" | "emerald" | "red" | "slate";

export function ProgressBar({ value, label, tone = "sky" }: { value: number; label: string; tone?: ProgressTone }) {
  const color = { sky: "bg-sky-400", amber: "bg-amber-400", emerald: "bg-emerald-400", red: "bg-red-400", slate: "bg-slate-500" }[tone];
  return (
    <div role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={value} className="h-1.5 w-full overflow-hidden rounded-full bg-slate-800">
      <div className={`h-full rounded-full ${color} transition-[width] duration-300 ease-out`} style={{ width: `${value}%` }} />
    </div>
  );
}

export function stepDuration(checkpoints: Checkpoints | undefined, index: number): string | null {
  const checkpoint = checkpoints?.[String(index)];
  if (!checkpoint?.started_at || !checkpoint.completed_at) return null;
  return formatDuration(new Date(checkpoint.completed_at).getTime() - new Date(checkpoint.started_at).getTime());
}

/** For a parked step: the attempts (one rule) and the person's last Retry now. */
export interface ParkedExtras {
  attempts: Attempts;
  retried: RetryPress | null;
}

/**
 * One row per step: pending; running with its progress; completed with its output, large enough to
 * judge (it opens larger); failed with the reason; parked with what is happening and what to do.
 * `view` null shows the steps of a run not started yet.
 */
export function StepTracker({
  steps,
  view,
  checkpoints,
  media,
  parked,
  queue,
}: {
  steps: TrackerStep[];
  view: JobView | null;
  checkpoints?: Checkpoints | undefined;
  media?: MediaContext | undefined;
  parked?: ParkedExtras | undefined;
  /** A queued run's place in line and ETA (viewQueue). */
  queue?: { position: number | null; etaSeconds: number | null } | undefined;
}) {
  const inLine = queue ? queueText(queue.position, queue.etaSeconds) : null;
  return (
    <ol className="relative space-y-1" aria-label="Workflow steps">
      {steps.map((step, index) => {
        const state = view ? stepView(view, index) : { status: "pending" as const, progress: 0 };
        const queued = view?.status === "queued" && state.status === "running";
        const awaiting = (view?.status === "awaiting_approval" || view?.status === "awaiting_input") && view.currentStep === index;
        const since = view?.status === "awaiting_input" ? view.picking?.since : view?.awaiting?.since;
        const statusText = awaiting ? (view?.status === "awaiting_input" ? "Awaiting your pick" : "Awaiting approval") : queued ? "Queued" : state.status === "running" ? `Running · ${state.progress}%` : STEP_STATUS[state.status].text;
        const duration = state.status === "completed" ? stepDuration(checkpoints, index) : null;
        const outputs = media?.all.filter((item) => item.step === index) ?? [];
        return (
          <li key={step.name} data-testid={`step-${index}`} data-step={step.name} data-status={state.status} className="relative flex gap-4 pb-4">
            {index < steps.length - 1 && (
              <span aria-hidden className={`absolute left-4 top-8 -ml-px h-[calc(100%-2rem)] w-0.5 ${state.status === "completed" ? "bg-emerald-500/50" : "bg-slate-800"}`} />
            )}
            <StepIndicator status={state.status} index={index} />
            <div className="min-w-0 flex-1 pt-1">
              <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
                <p className="font-medium text-slate-100">
                  <span className="sr-only">Step {index + 1} of {steps.length}: </span>
                  {step.label}
                </p>
                <p className="text-xs text-slate-300">
                  <span data-testid={`step-${index}-status`}>{statusText}</span>
                  {awaiting && since && <WaitedFor since={since} />}
                  {duration && <span className="text-slate-400"> · {duration}</span>}
                </p>
              </div>
              {state.status === "running" && (
                <div className="mt-2 space-y-1">
                  <ProgressBar value={state.progress} label={`${step.label} progress`} />
                  {queued ? (
                    <p className="min-h-4 truncate text-xs text-slate-300" data-testid="queue-place">
                      {inLine ?? "Waiting for a worker"}
                    </p>
                  ) : (
                    <p className="min-h-4 truncate text-xs text-slate-400">{state.message && state.message !== step.label && state.message !== "Queued" ? state.message : ""}</p>
                  )}
                </div>
              )}
              {state.status === "completed" && media && outputs.length > 0 && (
                <div className="mt-3 flex flex-wrap gap-2">
                  {outputs.map((item) => (
                    <MediaThumb key={item.key} media={item} context={media} />
                  ))}
                </div>
              )}
              {state.status === "parked" && view && parked && <ParkedNotice view={view} step={state} stepType={step.type} attempts={parked.attempts} retried={parked.retried} />}
              {state.status === "failed" && (
                <div className="mt-3 rounded-lg border border-red-500/40 bg-red-950 p-3 text-sm text-red-100">
                  <p className="break-words">{state.error ?? "This step failed."}</p>
                </div>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}

/** " · waited 3 min": how long a wait has lasted, ticking. */
function WaitedFor({ since }: { since: string }) {
  const now = useNow(1000);
  if (now === null) return null;
  return <span data-testid="waited-for"> · waited {formatDuration(Math.max(0, now - new Date(since).getTime()))}</span>;
}
