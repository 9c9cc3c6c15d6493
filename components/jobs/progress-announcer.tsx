"use client";

import { useEffect, useRef, useState } from "react";
import { ordinal, stepView, type JobView } from "@/components/jobs/job-state";
import { parkedMessage, serviceOf } from "@/components/jobs/parked-message";
import type { TrackerStep } from "@/components/jobs/step-tracker";
import { formatClock } from "@/components/ui/time";

/** Progress is announced in quarters: often enough to follow, rarely enough not to drown a screen reader. */
const MILESTONE = 25;

function describe(view: JobView, steps: TrackerStep[]): { key: string; text: string } | null {
  const total = steps.length;
  switch (view.status) {
    case "completed":
      return { key: "completed", text: "Run completed. The result is ready." };
    case "failed":
      return { key: "failed", text: `Run failed: ${view.error ?? "unknown error"}` };
    case "canceled":
      return { key: "canceled", text: "Run canceled." };
    case "pending_retry": {
      const step = steps[view.currentStep];
      const when = view.nextRetryAt ? ` Next automatic try at ${formatClock(view.nextRetryAt)}.` : "";
      const { title } = parkedMessage({ reason: view.errorCode, service: serviceOf(step?.type ?? ""), nextRetryAt: null, attempts: { made: 0, next: null, limit: 1 } });
      return { key: `parked-${view.currentStep}-${view.nextRetryAt}`, text: `${step?.label ?? "A step"} is paused: ${title}.${when}` };
    }
    case "queued":
      // The place is announced as it changes; the ETA alone would repeat itself.
      return view.queuePosition !== null
        ? { key: `queued-${view.queuePosition}`, text: `Run queued, ${ordinal(view.queuePosition)} in line.` }
        : { key: "queued", text: "Run queued." };
    case "awaiting_approval": {
      const step = steps[view.currentStep];
      return { key: `awaiting-${view.currentStep}`, text: `Run waiting for your approval before ${step?.label ?? "the next step"}.` };
    }
    case "awaiting_input": {
      const step = steps[view.currentStep];
      return { key: `picking-${view.currentStep}`, text: `${step?.label ?? "A step"}: candidates ready. Pick one to continue.` };
    }
    case "running": {
      const index = view.currentStep;
      const step = steps[index];
      const state = stepView(view, index);
      if (!step) return null;
      if (state.status === "completed") return { key: `done-${index}`, text: `Step ${index + 1} of ${total}, ${step.label}, completed.` };
      const milestone = Math.floor(state.progress / MILESTONE) * MILESTONE;
      return {
        key: `run-${index}-${milestone}`,
        text: milestone === 0 ? `Step ${index + 1} of ${total}, ${step.label}, started.` : `${step.label}: ${milestone}%.`,
      };
    }
  }
}

/** A polite live region that says what changed in the run, without repeating itself. */
export function ProgressAnnouncer({ view, steps }: { view: JobView | null; steps: TrackerStep[] }) {
  const [message, setMessage] = useState("");
  const lastKey = useRef<string | null>(null);
  useEffect(() => {
    if (!view) return;
    const next = describe(view, steps);
    if (!next || next.key === lastKey.current) return;
    lastKey.current = next.key;
    setMessage(next.text);
  }, [view, steps]);
  return (
    <p role="status" aria-live="polite" aria-atomic="true" className="sr-only" data-testid="progress-announcer">
      {message}
    </p>
  );
}
