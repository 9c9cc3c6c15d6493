"use client";

import { Ban, Check, CircleX, Clock, LoaderCircle } from "lucide-react";
import type { Checkpoints } from "@/lib/contract/events";
import { stepView, type JobView, type StepStatus, type StepView } from "@/components/jobs/job-state";
import { mediaOf, mediaSrc } from "@/components/jobs/media";
import { formatClock, formatRelative, useNow } from "@/components/ui/time";

export interface TrackerStep {
  name: string;
  label: string;
  type: string;
}

const INDICATOR: Record<StepStatus, { className: string; text: string }> = {
  pending: { className: "border-slate-700 bg-slate-900 text-slate-400", text: "Waiting" },
  running: { className: "border-sky-400 bg-sky-500/15 text-sky-200", text: "Running" },
  completed: { className: "border-emerald-400 bg-emerald-500/15 text-emerald-200", text: "Completed" },
  parked: { className: "border-amber-400 bg-amber-500/15 text-amber-200", text: "Paused, will retry" },
  failed: { className: "border-red-400 bg-red-500/15 text-red-200", text: "Failed" },
  canceled: { className: "border-slate-600 bg-slate-800 text-slate-400", text: "Canceled" },
};

function Indicator({ status, index }: { status: StepStatus; index: number }) {
  const icon = {
    pending: <span className="text-xs font-semibold">{index + 1}</span>,
    running: <LoaderCircle className="size-4 animate-spin motion-reduce:animate-none" />,
    completed: <Check className="size-4" />,
    parked: <Clock className="size-4" />,
    failed: <CircleX className="size-4" />,
    canceled: <Ban className="size-4" />,
  }[status];
  return (
    <span aria-hidden className={`relative z-10 flex size-8 shrink-0 items-center justify-center rounded-full border-2 ${INDICATOR[status].className}`}>
      {icon}
    </span>
  );
}

export type ProgressTone = "sky" | "amber" | "emerald" | "red" | "slate";

export function ProgressBar({ value, label, tone = "sky" }: { value: number; label: string; tone?: ProgressTone }) {
  const color = { sky: "bg-sky-400", amber: "bg-amber-400", emerald: "bg-emerald-400", red: "bg-red-400", slate: "bg-slate-500" }[tone];
  return (
    <div
      role="progressbar"
      aria-label={label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={value}
      className="h-1.5 w-full overflow-hidden rounded-full bg-slate-800"
    >
      <div className={`h-full rounded-full ${color} transition-[width] duration-300 ease-out`} style={{ width: `${value}%` }} />
    </div>
  );
}

function StepOutput({ step, output }: { step: TrackerStep; output: Record<string, unknown> | undefined }) {
  const media = mediaOf(output);
  if (media.length === 0) return null;
  return (
    <div className="mt-3 flex flex-wrap gap-2">
      {media.map(({ key, url, kind }) => (
        <a
          key={key}
          href={mediaSrc(url)}
          target="_blank"
          rel="noreferrer"
          className="block aspect-video w-36 overflow-hidden rounded-lg border border-slate-700 bg-black sm:w-44"
          aria-label={`Open the ${kind} from “${step.label}” in a new tab`}
        >
          {kind === "image" ? (
            <img src={mediaSrc(url)} alt={`Output of ${step.label}`} className="size-full object-contain" />
          ) : (
            // #t=0.1 makes the browser fetch and paint a first frame, so the thumbnail is not a black box.
            <video src={`${mediaSrc(url)}#t=0.1`} className="size-full object-contain" muted playsInline preload="metadata" aria-label={`Output of ${step.label}`} />
          )}
        </a>
      ))}
    </div>
  );
}

function ParkedNotice({ view, step }: { view: JobView; step: StepView }) {
  const now = useNow(1000);
  return (
    <div className="mt-3 rounded-lg border border-amber-500/30 bg-amber-500/10 p-3 text-sm text-amber-100">
      <p className="break-words">{step.error ?? "The provider is unavailable."}</p>
      {view.status === "pending_retry" && view.nextRetryAt && (
        <p className="mt-1 text-amber-200/90" data-testid="next-retry">
          Next automatic retry at{" "}
          <time dateTime={view.nextRetryAt} className="font-medium tabular-nums" suppressHydrationWarning>
            {now === null ? "" : formatClock(view.nextRetryAt)}
          </time>
          {now !== null && <span> ({formatRelative(view.nextRetryAt, now)})</span>}
          {view.retryCount !== null && view.maxRetries !== null && (
            <span>
              {" "}
              · that will be attempt {view.retryCount + 1} of {view.maxRetries}
            </span>
          )}
        </p>
      )}
      {step.reason && <p className="mt-1 font-mono text-xs text-amber-200/70">reason: {step.reason}</p>}
    </div>
  );
}

function stepDuration(checkpoints: Checkpoints | undefined, index: number): string | null {
  const checkpoint = checkpoints?.[String(index)];
  if (!checkpoint?.started_at || !checkpoint.completed_at) return null;
  const ms = new Date(checkpoint.completed_at).getTime() - new Date(checkpoint.started_at).getTime();
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * One row per step: pending; running with its progress; completed with its output; failed with the
 * reason; parked with the next automatic retry. `view` null shows the steps of a run not started yet.
 */
export function StepTracker({ steps, view, checkpoints }: { steps: TrackerStep[]; view: JobView | null; checkpoints?: Checkpoints | undefined }) {
  return (
    <ol className="relative space-y-1" aria-label="Workflow steps">
      {steps.map((step, index) => {
        const state = view ? stepView(view, index) : { status: "pending" as const, progress: 0 };
        const queued = view?.status === "queued" && state.status === "running";
        const statusText = queued ? "Queued" : state.status === "running" ? `Running · ${state.progress}%` : INDICATOR[state.status].text;
        const duration = state.status === "completed" ? stepDuration(checkpoints, index) : null;
        const last = index === steps.length - 1;
        return (
          <li key={step.name} data-testid={`step-${index}`} data-step={step.name} data-status={state.status} className="relative flex gap-4 pb-4">
            {!last && (
              <span
                aria-hidden
                className={`absolute left-4 top-8 -ml-px h-[calc(100%-2rem)] w-0.5 ${state.status === "completed" ? "bg-emerald-500/50" : "bg-slate-800"}`}
              />
            )}
            <Indicator status={state.status} index={index} />
            <div className="min-w-0 flex-1 pt-1">
              <div className="flex flex-wrap items-baseline justify-between gap-x-3 gap-y-1">
                <p className="font-medium text-slate-100">
                  <span className="sr-only">Step {index + 1} of {steps.length}: </span>
                  {step.label}
                </p>
                <p className="text-xs text-slate-400" data-testid={`step-${index}-status`}>
                  {statusText}
                  {duration && <span className="text-slate-500"> · {duration}</span>}
                </p>
              </div>
              {state.status === "running" && (
                <div className="mt-2 space-y-1">
                  <ProgressBar value={state.progress} label={`${step.label} progress`} />
                  <p className="min-h-4 truncate text-xs text-slate-400">
                    {queued ? "Waiting for a worker" : state.message && state.message !== step.label ? state.message : ""}
                  </p>
                </div>
              )}
              {state.status === "completed" && <StepOutput step={step} output={state.output} />}
              {state.status === "parked" && view && <ParkedNotice view={view} step={state} />}
              {state.status === "failed" && (
                <div className="mt-3 rounded-lg border border-red-500/30 bg-red-500/10 p-3 text-sm text-red-100">
                  <p className="break-words">{state.error ?? "This step failed."}</p>
                  {state.reason && <p className="mt-1 font-mono text-xs text-red-200/70">reason: {state.reason}</p>}
                </div>
              )}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
