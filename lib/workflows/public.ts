import "server-only";
import type { z } from "zod";
import type { workflowSchema } from "@/lib/api/schemas";
import { SUPPORTED_IMAGE_TYPES } from "@/lib/api/image-check";
import type { Config } from "@/lib/config";
import { candidatePolicy, MAX_CANDIDATES_PER_STEP } from "@/lib/workflows/candidates";
import type { Workflow } from "@/lib/workflows/definition";
import type { Registry } from "@/lib/workflows/registry";
import { defaultModelOf } from "@/lib/workflows/models";
import { estimateRunMicros, toUsd } from "@/lib/workflows/pricing";
import { characterCount, imageInputOf, imageInputsOf, resolveDeclaredInputs, type ResolveOptions } from "@/lib/workflows/inputs";

/** A workflow as API clients and the UI see it: no handlers, plus what uploads it accepts. */
export type UploadLimits = Pick<Config, "MAX_UPLOAD_BYTES" | "MAX_IMAGE_PIXELS">;

/** What the list shows of prices: whether the models run locally (then everything costs 0). */
export interface PricingContext {
  /** The estimate with the workflow's default inputs, in the API's shape (lib/jobs/costs.ts). */
  estimate(workflow: Workflow): z.infer<typeof workflowSchema>["estimate"];
  /** The models run locally: a model choice costs nothing. */
  localModels: boolean;
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
      const { name: stepName, type, label, approval } = step;
      const model = defaultModelOf(step);
      const models = step.models?.map((choice) => ({
        model: choice.model,
        label: choice.label ?? choice.model,
        estimated_usd: pricing.localModels ? 0 : (choice.pricing ?? step.pricing) ? toUsd(estimateRunMicros((choice.pricing ?? step.pricing)!)) : null,
      }));
      const policy = candidatePolicy(step);
      return {
        name: stepName,
        type,
        label,
        ...(model && { model }),
        ...(approval && { approval }),
        ...(models && { models }),
        ...(policy.allowed && { candidates: { default: policy.default, max: MAX_CANDIDATES_PER_STEP } }),
      };
    }),
    inputs,
    upload: uploadOf(workflow) ?? null,
    accepts: { content_types: [...SUPPORTED_IMAGE_TYPES], max_bytes: limits.MAX_UPLOAD_BYTES, max_pixels: limits.MAX_IMAGE_PIXELS },
    estimate: pricing.estimate(workflow),
  };
}

export function listWorkflows(registry: Registry, limits: UploadLimits, pricing: PricingContext) {
  return [...registry.workflows.values()].map((workflow) => workflowToJson(workflow, limits, pricing));
}

/**
 * The job's upload, if the workflow takes one: in the field its first image input names (else
 * `file`), required when it has an upload step (type "input") or that image input is required.
 * Further image inputs are extra uploads (`extraImageInputsOf`), each in the field of its name.
 */
export function uploadOf(workflow: Workflow): { field: string; required: boolean; label: string } | undefined {
  const image = imageInputOf(workflow.config.inputs);
  const hasUploadStep = workflow.config.steps.some((step) => step.type === "input");
  if (!image && !hasUploadStep) return undefined;
  return { field: image?.name ?? "file", required: hasUploadStep || (image?.required ?? false), label: image?.label ?? "Image" };
}

/** Fields of the execute form that are not declared inputs: the API reads them itself. */
const API_FIELDS = new Set(["workflow_id", "approve_before"]);

/**
 * Validates the form's input fields against what the workflow declares (lib/workflows/inputs.ts),
 * applying defaults. Each problem names its field; an undeclared field is a problem too.
 */
export function resolveInputs(workflow: Workflow, fields: Map<string, string>, options: ResolveOptions = {}): { inputs: Record<string, string>; problems: string[] } {
  const declared = workflow.config.inputs;
  const problems: string[] = [];
  const images = imageInputsOf(declared);
  for (const name of fields.keys()) {
    if (images.some((image) => image.name === name)) problems.push(`${name}: send the image as a file, not as text.`);
    else if (!API_FIELDS.has(name) && !declared.some((input) => input.name === name && input.type !== "image")) {
      const imageFields = images.length > 0 ? images.map((image) => image.name) : ["file"];
      const accepted = ["workflow_id", ...imageFields, "approve_before", "candidates[<step name>]", "auto_pick", "models[<step name>]", ...declared.filter((input) => input.type !== "image").map((input) => input.name)];
      problems.push(`Unknown field ${name.slice(0, 64)}; this workflow accepts: ${accepted.join(", ")}.`);
    }
  }
  const resolved = resolveDeclaredInputs(declared, fields, options);
  return { inputs: resolved.inputs, problems: [...problems, ...resolved.problems.map((problem) => problem.message)] };
}

export { characterCount };

/**
 * The workflow authoring API: what a workflows/<id>/workflow.ts imports (docs/workflows.md).
 */
export { defineWorkflow } from "@/lib/workflows/definition";
export type { StepHandler, StepOutput } from "@/lib/workflows/definition";
export type { StepContext } from "@/lib/workflows/step-context";
export { HardError, RetryableError } from "@/lib/workflows/errors";
export { mediaKey, numberInput, previousUrl, runModel, storeMedia } from "@/lib/workflows/authoring";
