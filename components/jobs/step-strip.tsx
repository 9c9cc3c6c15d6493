"use client";

import type { Checkpoints } from "@/lib/contract/events";
import { stepView, type JobView } from "@/components/jobs/job-state";
import { MediaThumb, type MediaContext } from "@/components/jobs/media-viewer";
import { STEP_STATUS, StepIndicator, stepDuration, type TrackerStep } from "@/components/jobs/step-tracker";

/** The steps of a finished run, compact: under the result, each with its status, time and output. */
export function StepStrip({ steps, view, checkpoints, media }: { steps: TrackerStep[]; view: JobView; checkpoints: Checkpoints; media: MediaContext }) {
  return (
    <ol className="grid grid-cols-3 gap-2 sm:gap-3" aria-label="Workflow steps" data-testid="step-strip">
      {steps.map((step, index) => {
        const state = stepView(view, index);
        const duration = stepDuration(checkpoints, index);
        const output = media.all.find((item) => item.step === index);
        return (
          <li key={step.name} data-testid={`step-${index}`} data-step={step.name} data-status={state.status} className="min-w-0 space-y-2 rounded-xl border border-slate-800 bg-slate-900 p-2 sm:p-3">
            {output ? <MediaThumb media={output} context={media} className="w-full" /> : <div aria-hidden className="rounded-xl bg-slate-800" style={{ aspectRatio: String(media.aspect) }} />}
            <div className="flex items-start gap-1.5">
              <StepIndicator status={state.status} index={index} small />
              <div className="min-w-0">
                <p className="line-clamp-2 text-xs font-medium text-slate-100 sm:text-sm">
                  <span className="sr-only">Step {index + 1} of {steps.length}: </span>
                  {step.label}
                </p>
                <p className="text-xs text-slate-300" data-testid={`step-${index}-status`}>
                  {STEP_STATUS[state.status].text}
                  {duration && <span className="text-slate-400"> · {duration}</span>}
                </p>
              </div>
            </div>
          </li>
        );
      })}
    </ol>
  );
}
