"use client";

import { useEffect, useId, useState } from "react";
import { X } from "lucide-react";
import type { Workflow, WorkflowInput } from "@/components/api/types";
import { buttonClass, labelClass } from "@/components/ui/styles";
import { checkFile, decodeSize, formatBytes, type PickedImage } from "@/components/workflows/image-dropzone";

type ImageInput = Extract<WorkflowInput, { type: "image" }>;

/** The workflow's image inputs after the first (the first is the job's upload, with its own section): each an extra image. */
export function extraImageInputsOf(workflow: Workflow): ImageInput[] {
  return workflow.inputs.filter((input): input is ImageInput => input.type === "image").slice(1);
}

/** What stops the form for its extra images: a required one not added, or one that failed its checks; null when none. */
export function extraImagesProblem(workflow: Workflow, images: Record<string, PickedImage | null>): string | null {
  for (const input of extraImageInputsOf(workflow)) {
    const image = images[input.name] ?? null;
    if (input.required && !image) return `Add the ${input.label.toLowerCase()}.`;
    if (image && !image.ok) return image.error ? `Fix the ${input.label.toLowerCase()} first.` : "Checking the images…";
  }
  return null;
}

/** One extra image input: a labelled file picker with its help text, the checks' outcome and an accessible error. */
function ImageInputField({ input, accepts, value, onChange }: { input: ImageInput; accepts: Workflow["accepts"]; value: PickedImage | null; onChange: (value: PickedImage | null) => void }) {
  const id = useId();
  const descriptionId = useId();
  const errorId = useId();
  const [touched, setTouched] = useState(false);
  const file = value?.file ?? null;
  useEffect(() => {
    if (!file) return;
    const typeError = checkFile(file, accepts);
    if (typeError) {
      onChange({ file, ok: false, error: typeError });
      return;
    }
    const url = URL.createObjectURL(file);
    let current = true;
    void decodeSize(url).then((size) => {
      URL.revokeObjectURL(url);
      if (!current) return;
      if (!size) onChange({ file, ok: false, error: `${file.name} could not be read as an image.` });
      else if (size.width * size.height > accepts.max_pixels) onChange({ file, ok: false, error: `${file.name} is ${size.width}×${size.height}; the limit is ${(accepts.max_pixels / 1e6).toFixed(0)} megapixels.` });
      else onChange({ file, ok: true, error: null });
    });
    return () => {
      current = false;
    };
    // Deliberately not keyed on onChange: the checks run once per file.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [file, accepts]);

  const error = value?.error ?? (touched && input.required && !value ? `Add the ${input.label.toLowerCase()}.` : null);
  const describedBy = [input.description ? descriptionId : null, errorId].filter(Boolean).join(" ");
  return (
    <div className="space-y-1.5" data-testid={`image-input-${input.name}`}>
      <label htmlFor={id} className={labelClass}>
        {input.label}
        {input.required && <span className="text-amber-300"> *</span>}
      </label>
      <input
        id={id}
        type="file"
        name={input.name}
        accept={accepts.content_types.join(",")}
        required={input.required}
        aria-describedby={describedBy}
        aria-invalid={error ? true : undefined}
        onBlur={() => setTouched(true)}
        onChange={(event) => {
          const next = event.currentTarget.files?.[0];
          setTouched(true);
          if (next) onChange({ file: next, ok: false, error: null });
          event.currentTarget.value = "";
        }}
        className="block w-full text-sm text-slate-300 file:mr-3 file:rounded-md file:border-0 file:bg-slate-800 file:px-3 file:py-1.5 file:text-sm file:text-slate-100 hover:file:bg-slate-700"
      />
      {file && (
        <div className="flex items-center justify-between gap-2 text-xs text-slate-200">
          <span className="min-w-0 truncate" data-testid={`picked-${input.name}`}>
            {file.name} · {formatBytes(file.size)}
          </span>
          <button type="button" className={buttonClass("secondary", "sm")} onClick={() => onChange(null)} aria-label={`Remove ${file.name}`}>
            <X aria-hidden className="size-4" />
          </button>
        </div>
      )}
      {input.description && (
        <p id={descriptionId} className="text-xs text-slate-400">
          {input.description}
        </p>
      )}
      <p id={errorId} role="alert" className="min-h-4 text-xs text-red-300" data-testid={`field-error-${input.name}`}>
        {error ?? ""}
      </p>
    </div>
  );
}

/** A file picker per extra image input the workflow declares (none: nothing is rendered). */
export function ExtraImageInputs({ workflow, images, onChange }: { workflow: Workflow; images: Record<string, PickedImage | null>; onChange: (name: string, value: PickedImage | null) => void }) {
  const inputs = extraImageInputsOf(workflow);
  if (inputs.length === 0) return null;
  return (
    <div className="space-y-4">
      {inputs.map((input) => (
        <ImageInputField key={input.name} input={input} accepts={workflow.accepts} value={images[input.name] ?? null} onChange={(value) => onChange(input.name, value)} />
      ))}
    </div>
  );
}
