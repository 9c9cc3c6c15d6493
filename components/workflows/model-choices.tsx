"use client";

import { useId } from "react";
import type { Workflow } from "@/components/api/types";
import { inputClass, labelClass } from "@/components/ui/styles";

/** The form field a step's model choice is sent in (POST /workflows/execute `models[<step>]`). */
export function modelField(stepName: string): string {
  return `models[${stepName}]`;
}

function price(usd: number | null): string {
  if (usd === null) return "price unknown";
  return usd === 0 ? "free here" : `about $${usd.toFixed(usd < 0.1 ? 3 : 2)}`;
}

function ModelSelect({ step, value, onChange }: { step: Workflow["steps"][number]; value: string; onChange: (value: string) => void }) {
  const id = useId();
  return (
    <div className="space-y-1.5">
      <label htmlFor={id} className={labelClass}>
        Model for “{step.label}”
      </label>
      <select id={id} name={modelField(step.name)} value={value} onChange={(event) => onChange(event.currentTarget.value)} className={inputClass}>
        {step.models!.map((choice) => (
          <option key={choice.model} value={choice.model}>
            {choice.label} ({price(choice.estimated_usd)})
          </option>
        ))}
      </select>
    </div>
  );
}

/**
 * The workflow's estimate with the form's model choices: each chosen model's price in place of the
 * default's (the list's estimate is for the defaults). A price unknown makes the total a lower bound.
 */
export function estimateWithModels(workflow: Workflow, values: Record<string, string>): Workflow["estimate"] {
  let total = workflow.estimate.total_usd;
  let complete = workflow.estimate.complete;
  for (const step of workflow.steps) {
    if (!step.models) continue;
    const chosen = step.models.find((choice) => choice.model === values[modelField(step.name)]);
    const standard = step.models.find((choice) => choice.model === step.model);
    if (!chosen || !standard || chosen === standard) continue;
    total += (chosen.estimated_usd ?? 0) - (standard.estimated_usd ?? 0);
    if (chosen.estimated_usd === null) complete = false;
  }
  return { ...workflow.estimate, total_usd: Math.round(total * 1e6) / 1e6, complete };
}

/** A select for each step that lets the caller choose its model; nothing for a workflow without choices. */
export function ModelChoices({ workflow, values, onChange }: { workflow: Workflow; values: Record<string, string>; onChange: (name: string, value: string) => void }) {
  const steps = workflow.steps.filter((step) => step.models && step.models.length > 1);
  if (steps.length === 0) return null;
  return (
    <div className="space-y-4" data-testid="model-choices">
      {steps.map((step) => (
        <ModelSelect key={step.name} step={step} value={values[modelField(step.name)] ?? step.model ?? ""} onChange={(value) => onChange(modelField(step.name), value)} />
      ))}
    </div>
  );
}
