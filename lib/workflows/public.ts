import "server-only";
import type { z } from "zod";
import type { workflowSchema } from "@/lib/api/schemas";
import { SUPPORTED_IMAGE_TYPES } from "@/lib/api/image-check";
import type { Config } from "@/lib/config";
import { candidatePolicy, MAX_CANDIDATES_PER_STEP } from "@/lib/workflows/candidates";
import type { Workflow } from "@/lib/workflows/definition";
import type { Registry } from "@/lib/workflows/registry";

/** A workflow as API clients and the UI see it: no handlers, plus what uploads it accepts. */
export type UploadLimits = Pick<Config, "MAX_UPLOAD_BYTES" | "MAX_IMAGE_PIXELS">;

/** What the list shows of prices: whether the models run locally (then everything costs 0). */
export interface PricingContext {
  /** The estimate with the workflow's default inputs, in the API's shape (lib/jobs/costs.ts). */
  estimate(workflow: Workflow): z.infer<typeof workflowSchema>["estimate"];
}

export function workflowToJson(workflow: Workflow, limits: UploadLimits, pricing: PricingContext): z.infer<typeof workflowSchema> {
  const { id, name, description, icon, steps, inputs } = workflow.config;
  return {
    id,
    version: workflow.version,
    name,
    description,
    icon,
    steps: steps.map((step) => {
      const { name: stepName, type, label, model, approval } = step;
      const policy = candidatePolicy(step);
      return { name: stepName, type, label, ...(model && { model }), ...(approval && { approval }), ...(policy.allowed && { candidates: { default: policy.default, max: MAX_CANDIDATES_PER_STEP } }) };
    }),
    inputs,
    accepts: { content_types: [...SUPPORTED_IMAGE_TYPES], max_bytes: limits.MAX_UPLOAD_BYTES, max_pixels: limits.MAX_IMAGE_PIXELS },
    estimate: pricing.estimate(workflow),
  };
}

export function listWorkflows(registry: Registry, limits: UploadLimits, pricing: PricingContext) {
  return [...registry.workflows.values()].map((workflow) => workflowToJson(workflow, limits, pricing));
}

/** Validates the form's input fields against what the workflow declares, applying defaults. */
export function resolveInputs(workflow: Workflow, fields: Map<string, string>): { inputs: Record<string, string>; problems: string[] } {
  const declared = workflow.config.inputs;
  const problems: string[] = [];
  const inputs: Record<string, string> = {};
  for (const name of fields.keys()) {
    if (name !== "workflow_id" && name !== "approve_before" && !declared.some((input) => input.name === name)) {
      problems.push(`Unknown field ${name}; this workflow accepts: ${["workflow_id", "file", "approve_before", "candidates[<step name>]", "auto_pick", ...declared.map((i) => i.name)].join(", ")}.`);
    }
  }
  for (const input of declared) {
    const value = fields.get(input.name)?.trim() || input.default || "";
    if (input.required && !value) problems.push(`${input.name} is required.`);
    if (characterCount(value) > input.max_length) problems.push(`${input.name} is longer than ${input.max_length} characters.`);
    inputs[input.name] = value;
  }
  return { inputs, problems };
}

/**
 * Characters as a person counts them: code points (an emoji is one, not two UTF-16 units), with a
 * form's CRLF line breaks counted once, as the browser's own maxLength counts them.
 */
export function characterCount(value: string): number {
  let count = 0;
  for (const _ of value.replace(/\r\n/g, "\n")) count++;
  return count;
}
