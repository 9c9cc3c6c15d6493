"use client";

import { useId } from "react";
import type { WorkflowInput } from "@/components/api/types";
import { inputClass, labelClass } from "@/components/ui/styles";

function Field({ input, value, onChange }: { input: WorkflowInput; value: string; onChange: (value: string) => void }) {
  const id = useId();
  const descriptionId = useId();
  const common = {
    id,
    name: input.name,
    value,
    maxLength: input.max_length,
    required: input.required,
    "aria-describedby": input.description ? descriptionId : undefined,
    onChange: (event: { currentTarget: { value: string } }) => onChange(event.currentTarget.value),
    className: inputClass,
  };
  return (
    <div className="space-y-1.5">
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={id} className={labelClass}>
          {input.label}
          {input.required && <span className="text-amber-300"> *</span>}
        </label>
        <span className="text-xs tabular-nums text-slate-400" aria-hidden>
          {value.length}/{input.max_length}
        </span>
      </div>
      {input.type === "textarea" ? <textarea rows={3} {...common} className={`${inputClass} resize-y`} /> : <input type="text" {...common} />}
      {input.description && (
        <p id={descriptionId} className="text-xs text-slate-400">
          {input.description}
        </p>
      )}
    </div>
  );
}

/** Whatever inputs the workflow's config declares, prefilled with its defaults. */
export function WorkflowInputs({
  inputs,
  values,
  onChange,
}: {
  inputs: WorkflowInput[];
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
}) {
  if (inputs.length === 0) return <p className="text-sm text-slate-400">This workflow takes no other inputs.</p>;
  return (
    <div className="space-y-4">
      {inputs.map((input) => (
        <Field key={input.name} input={input} value={values[input.name] ?? ""} onChange={(value) => onChange(input.name, value)} />
      ))}
    </div>
  );
}
