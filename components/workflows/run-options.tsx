"use client";

import { useId } from "react";
import type { Workflow } from "@/components/api/types";
import { inputClass, labelClass } from "@/components/ui/styles";

/** What a run asks for beyond its inputs: steps to approve before, candidates per step, auto pick. */
export interface RunOptions {
  approveBefore: string[];
  candidates: Record<string, number>;
  autoPick: boolean;
}

export const NO_RUN_OPTIONS: RunOptions = { approveBefore: [], candidates: {}, autoPick: false };

/** The execute form's fields for the options (only what differs from the workflow's defaults). */
export function appendRunOptions(body: FormData, workflow: Workflow, options: RunOptions): void {
  for (const name of options.approveBefore) body.append("approve_before", name);
  for (const step of workflow.steps) {
    const count = options.candidates[step.name];
    if (step.candidates && count !== undefined && count !== step.candidates.default) body.set(`candidates[${step.name}]`, String(count));
  }
  if (options.autoPick && hasCandidates(workflow, options)) body.set("auto_pick", "true");
}

function hasCandidates(workflow: Workflow, options: RunOptions): boolean {
  return workflow.steps.some((step) => step.candidates && (options.candidates[step.name] ?? step.candidates.default) > 1);
}

/**
 * Per step: "Approve before" (every step but the first: nothing ran yet to approve) and, for steps
 * that can run as candidates, how many side by side; then whether to pick the first that succeeds.
 */
export function RunOptionsFields({ workflow, value, onChange }: { workflow: Workflow; value: RunOptions; onChange: (options: RunOptions) => void }) {
  const autoPickId = useId();
  const steps = workflow.steps.map((step, index) => ({ step, index })).filter(({ step, index }) => index > 0 || step.candidates);
  if (steps.length === 0) return <p className="text-sm text-slate-400">This workflow has no options.</p>;
  return (
    <div className="space-y-3" data-testid="run-options">
      <ul className="space-y-3">
        {steps.map(({ step, index }) => (
          <StepOptions key={step.name} step={step} index={index} value={value} onChange={onChange} />
        ))}
      </ul>
      {hasCandidates(workflow, value) && (
        <div className="flex items-start gap-2">
          <input
            id={autoPickId}
            type="checkbox"
            className="mt-0.5 size-4 accent-amber-500"
            checked={value.autoPick}
            onChange={(event) => onChange({ ...value, autoPick: event.currentTarget.checked })}
          />
          <label htmlFor={autoPickId} className="text-sm text-slate-200">
            Don&apos;t ask me: use the first candidate that succeeds
          </label>
        </div>
      )}
    </div>
  );
}

function StepOptions({ step, index, value, onChange }: { step: Workflow["steps"][number]; index: number; value: RunOptions; onChange: (options: RunOptions) => void }) {
  const approveId = useId();
  const countId = useId();
  const always = step.approval === true;
  const approve = always || value.approveBefore.includes(step.name);
  const count = value.candidates[step.name] ?? step.candidates?.default ?? 1;
  return (
    <li className="flex flex-wrap items-center justify-between gap-3 rounded-lg border border-slate-800 bg-slate-950 px-3 py-2">
      <span className="text-sm font-medium text-slate-100">
        {index + 1}. {step.label}
      </span>
      <span className="flex flex-wrap items-center gap-4">
        {index > 0 && (
          <span className="flex items-center gap-2">
            <input
              id={approveId}
              type="checkbox"
              className="size-4 accent-amber-500"
              checked={approve}
              disabled={always}
              onChange={(event) => {
                const checked = event.currentTarget.checked;
                const rest = value.approveBefore.filter((name) => name !== step.name);
                onChange({ ...value, approveBefore: checked ? [...rest, step.name] : rest });
              }}
            />
            <label htmlFor={approveId} className="text-sm text-slate-200">
              Approve before{always ? " (always)" : ""}
            </label>
          </span>
        )}
        {step.candidates && (
          <span className="flex items-center gap-2">
            <label htmlFor={countId} className={labelClass}>
              Candidates
            </label>
            <select
              id={countId}
              className={`${inputClass} w-16 py-1`}
              value={count}
              onChange={(event) => onChange({ ...value, candidates: { ...value.candidates, [step.name]: Number(event.currentTarget.value) } })}
            >
              {Array.from({ length: step.candidates.max }, (_unused, i) => i + 1).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </span>
        )}
      </span>
    </li>
  );
}
