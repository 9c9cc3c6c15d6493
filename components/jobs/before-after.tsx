"use client";

import { useId, useState } from "react";
import { mediaSrc, type StepMedia } from "@/components/jobs/media";

/** An image edit compared with its input: the edit on top, uncovered from the left by a slider. */
export function BeforeAfter({ before, after, aspect }: { before: StepMedia; after: StepMedia; aspect: number }) {
  const [split, setSplit] = useState(50);
  const sliderId = useId();
  return (
    <div className="space-y-3" data-testid="before-after">
      <div className="relative mx-auto max-h-[60vh] overflow-hidden rounded-xl border border-slate-800 bg-slate-900" style={{ aspectRatio: String(aspect) }}>
        <img src={mediaSrc(before.url)} alt={`Before: ${before.stepLabel}`} className="absolute inset-0 size-full object-contain" />
        <img
          src={mediaSrc(after.url)}
          alt={`After: ${after.stepLabel}`}
          className="absolute inset-0 size-full object-contain"
          style={{ clipPath: `inset(0 0 0 ${split}%)` }}
        />
        <div aria-hidden className="absolute inset-y-0 w-0.5 bg-white/90" style={{ left: `${split}%` }} />
        <span aria-hidden className="absolute left-2 top-2 rounded bg-slate-950 px-2 py-0.5 text-xs text-slate-100">
          Before
        </span>
        <span aria-hidden className="absolute right-2 top-2 rounded bg-slate-950 px-2 py-0.5 text-xs text-slate-100">
          After
        </span>
      </div>
      <div className="flex items-center gap-3">
        <label htmlFor={sliderId} className="shrink-0 text-sm text-slate-300">
          Before / after
        </label>
        <input
          id={sliderId}
          type="range"
          min={0}
          max={100}
          value={split}
          onChange={(event) => setSplit(Number(event.currentTarget.value))}
          aria-valuetext={`${100 - split}% of the edit shown`}
          className="w-full accent-amber-400"
        />
      </div>
    </div>
  );
}
