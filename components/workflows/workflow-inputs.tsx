"use client";

import { useId, useState } from "react";
import type { WorkflowInput } from "@/components/api/types";
import { inputClass, labelClass } from "@/components/ui/styles";
import { fieldError } from "@/components/workflows/input-checks";

type FieldInput = Exclude<WorkflowInput, { type: "image" }>;

/** One declared input as the control its type calls for, with its label, help text, limits and error. */
function Field({ input, value, onChange, showErrors }: { input: FieldInput; value: string; onChange: (value: string) => void; showErrors: boolean }) {
  const id = useId();
  const descriptionId = useId();
  const errorId = useId();
  const [touched, setTouched] = useState(false);
  const error = touched || showErrors ? fieldError(input, value) : null;
  const describedBy = [input.description ? descriptionId : null, error ? errorId : null].filter(Boolean).join(" ") || undefined;
  const common = {
    id,
    name: input.name,
    required: input.required,
    "aria-describedby": describedBy,
    "aria-invalid": error ? true : undefined,
    onBlur: () => setTouched(true),
    className: inputClass,
  };
  const onText = (event: { currentTarget: { value: string } }) => onChange(event.currentTarget.value);

  let control;
  switch (input.type) {
    case "textarea":
      control = <textarea rows={3} {...common} value={value} maxLength={input.max_length} onChange={onText} className={`${inputClass} resize-y`} />;
      break;
    case "text":
      control = <input type="text" {...common} value={value} maxLength={input.max_length} onChange={onText} />;
      break;
    case "select":
      control = (
        <select {...common} value={value} onChange={onText}>
          {!input.required && !input.default && <option value="">—</option>}
          {input.options.map((option) => (
            <option key={option.value} value={option.value}>
              {option.label}
            </option>
          ))}
        </select>
      );
      break;
    case "number":
      control = <input type="number" inputMode="decimal" {...common} value={value} min={input.min} max={input.max} step={input.step ?? "any"} onChange={onText} />;
      break;
    case "seed":
      control = <input type="text" inputMode="numeric" pattern="[0-9]*" placeholder="Random" {...common} value={value} onChange={onText} />;
      break;
    case "boolean":
      return (
        <div className="space-y-1.5">
          <label className="flex items-center gap-2 text-sm text-slate-200">
            <input type="checkbox" name={input.name} checked={value === "true"} aria-describedby={describedBy} onChange={(event) => onChange(String(event.currentTarget.checked))} className="size-4 accent-amber-500" />
            {input.label}
          </label>
          {input.description && (
            <p id={descriptionId} className="text-xs text-slate-400">
              {input.description}
            </p>
          )}
        </div>
      );
  }
  const limit =
    input.type === "text" || input.type === "textarea"
      ? `${[...value].length}/${input.max_length}`
      : input.type === "number" && (input.min !== undefined || input.max !== undefined)
        ? `${input.min ?? "…"}–${input.max ?? "…"}`
        : null;
  return (
    <div className="space-y-1.5">
      <div className="flex items-baseline justify-between gap-2">
        <label htmlFor={id} className={labelClass}>
          {input.label}
          {input.required && <span className="text-amber-300"> *</span>}
        </label>
        {limit && (
          <span className="text-xs tabular-nums text-slate-400" aria-hidden>
            {limit}
          </span>
        )}
      </div>
      {control}
      {input.description && (
        <p id={descriptionId} className="text-xs text-slate-400">
          {input.description}
        </p>
      )}
      {error && (
        <p id={errorId} className="text-xs text-red-300" data-testid={`field-error-${input.name}`}>
          {error}
        </p>
      )}
    </div>
  );
}

/** Whatever inputs the workflow's config declares (its image has its own section), prefilled with its defaults. */
export function WorkflowInputs({
  inputs,
  values,
  onChange,
  showErrors = false,
}: {
  inputs: WorkflowInput[];
  values: Record<string, string>;
  onChange: (name: string, value: string) => void;
  /** Show every field's error, not only those of fields left: after a refused submit. */
  showErrors?: boolean;
}) {
  const fields = inputs.filter((input): input is FieldInput => input.type !== "image");
  if (fields.length === 0) return <p className="text-sm text-slate-400">This workflow takes no other inputs.</p>;
  return (
    <div className="space-y-4">
      {fields.map((input) => (
        <Field key={input.name} input={input} value={values[input.name] ?? ""} showErrors={showErrors} onChange={(value) => onChange(input.name, value)} />
      ))}
    </div>
  );
}

/** The first declared input whose value the form would refuse, with what is wrong; null when all pass. */
export function firstFieldError(inputs: WorkflowInput[], values: Record<string, string>): string | null {
  for (const input of inputs) {
    const error = fieldError(input, values[input.name] ?? "");
    if (error) return error;
  }
  return null;
}
