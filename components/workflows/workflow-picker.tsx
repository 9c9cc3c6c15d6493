"use client";

import { ChevronRight } from "lucide-react";
import type { Workflow } from "@/components/api/types";
import { WorkflowIcon } from "@/components/ui/workflow-icon";

/** The installed workflows as a radio group (arrow keys move between them), each with its steps. */
export function WorkflowPicker({
  workflows,
  value,
  onChange,
}: {
  workflows: Workflow[];
  value: string | null;
  onChange: (id: string) => void;
}) {
  return (
    <fieldset>
      <legend className="sr-only">Workflow</legend>
      <div className="grid gap-3">
        {workflows.map((workflow) => {
          const checked = workflow.id === value;
          return (
            <label
              key={workflow.id}
              data-testid={`workflow-option-${workflow.id}`}
              className={`group relative flex cursor-pointer gap-4 rounded-2xl border p-4 transition-colors has-[input:focus-visible]:outline-2 has-[input:focus-visible]:outline-offset-2 has-[input:focus-visible]:outline-amber-400 ${
                checked ? "border-amber-400/70 bg-amber-500/10" : "border-slate-800 bg-slate-900 hover:border-slate-600"
              }`}
            >
              <input
                type="radio"
                name="workflow"
                value={workflow.id}
                checked={checked}
                onChange={() => onChange(workflow.id)}
                className="sr-only"
              />
              <span aria-hidden className="flex size-11 shrink-0 items-center justify-center rounded-xl bg-slate-800 text-2xl text-amber-300">
                <WorkflowIcon icon={workflow.icon} className="size-6" />
              </span>
              <span className="min-w-0 flex-1">
                <span className="flex items-center justify-between gap-2">
                  <span className="font-semibold text-slate-100">{workflow.name}</span>
                  <span
                    aria-hidden
                    className={`size-4 shrink-0 rounded-full border-2 ${checked ? "border-amber-400 bg-amber-400 shadow-[inset_0_0_0_2px_var(--color-slate-950)]" : "border-slate-600"}`}
                  />
                </span>
                {workflow.description && <span className="mt-0.5 block text-sm text-slate-400">{workflow.description}</span>}
                <span className="mt-3 flex flex-wrap items-center gap-1 text-xs text-slate-300" aria-label={`${workflow.steps.length} steps`}>
                  {workflow.steps.map((step, index) => (
                    <span key={step.name} className="inline-flex items-center gap-1">
                      {index > 0 && <ChevronRight aria-hidden className="size-3 text-slate-600" />}
                      <span className="rounded-md bg-slate-800 px-2 py-0.5">{step.label}</span>
                    </span>
                  ))}
                </span>
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}
