import type { WorkflowInput } from "@/components/api/types";

/**
 * The form's own check of one value against its declaration: the same limits the server applies
 * (lib/workflows/inputs.ts), so a person sees what is wrong next to the field before sending. The
 * server checks again; its answer names the field too.
 */
export function fieldError(input: WorkflowInput, raw: string): string | null {
  const value = raw.trim();
  switch (input.type) {
    case "text":
    case "textarea":
      if (input.required && !value && !input.default) return `${input.label} is required.`;
      if ([...raw.replace(/\r\n/g, "\n")].length > input.max_length) return `${input.label} is longer than ${input.max_length} characters.`;
      return null;
    case "select":
      if (input.required && !value && !input.default) return `Choose a ${input.label.toLowerCase()}.`;
      return null;
    case "number": {
      if (!value) return input.required && input.default === undefined ? `${input.label} is required.` : null;
      const n = Number(value);
      if (!/^-?\d+(\.\d+)?$/.test(value) || !Number.isFinite(n)) return `${input.label} must be a number.`;
      if (input.min !== undefined && n < input.min) return `${input.label} must be at least ${input.min}.`;
      if (input.max !== undefined && n > input.max) return `${input.label} must be at most ${input.max}.`;
      if (input.step !== undefined) {
        const steps = (n - (input.min ?? 0)) / input.step;
        if (Math.abs(steps - Math.round(steps)) > 1e-9) return `${input.label} must go in steps of ${input.step}.`;
      }
      return null;
    }
    case "seed":
      if (value && (!/^\d{1,10}$/.test(value) || Number(value) > 2_147_483_647)) return `${input.label} must be a whole number from 0 to 2147483647, or empty for a random one.`;
      return null;
    default:
      return null;
  }
}

/** The value a field starts with: its default, as the form holds it (text). */
export function defaultText(input: WorkflowInput): string {
  if (input.type === "image") return "";
  if (input.type === "boolean") return String(input.default);
  return input.default === undefined ? "" : String(input.default);
}
