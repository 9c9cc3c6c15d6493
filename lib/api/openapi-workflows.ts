import "server-only";
import { z } from "zod";
import { executeFormSchema } from "@/lib/api/schemas";
import { candidatePolicy, MAX_CANDIDATES_PER_STEP } from "@/lib/workflows/candidates";
import type { Workflow } from "@/lib/workflows/definition";
import { extraImageInputsOf, inputJsonSchema } from "@/lib/workflows/inputs";
import { choicesOf } from "@/lib/workflows/models";
import { uploadOf } from "@/lib/workflows/public";

/**
 * Each installed workflow's execute form as a JSON Schema (components.schemas["Execute.<id>"]):
 * its inputs with their types, defaults and limits, its file fields, and its model choices, built
 * from the same declarations the server validates with (lib/workflows/inputs.ts).
 */
export function executeFormOf(workflow: Workflow): Record<string, unknown> {
  const { config } = workflow;
  const upload = uploadOf(workflow);
  const properties: Record<string, unknown> = { workflow_id: { const: config.id } };
  const required = ["workflow_id"];
  for (const input of config.inputs) {
    if (input.type === "image") continue;
    properties[input.name] = inputJsonSchema(input);
    if (input.required && (input.type === "text" || input.type === "textarea" || input.type === "select" || input.type === "number") && input.default === undefined) required.push(input.name);
  }
  if (upload) {
    properties[upload.field] = { type: "string", format: "binary", title: upload.label, description: "A JPEG, PNG or WebP image" };
    if (upload.required) required.push(upload.field);
  }
  // Each further image input is a file of its own (an extra upload), in the field of its name.
  for (const input of extraImageInputsOf(config.inputs)) {
    properties[input.name] = { type: "string", format: "binary", title: input.label, description: `${input.description ? `${input.description}. ` : ""}A JPEG, PNG or WebP image` };
    if (input.required) required.push(input.name);
  }
  for (const step of config.steps) {
    const choices = choicesOf(step);
    if (choices.length === 0) continue;
    properties[`models[${step.name}]`] = { type: "string", enum: choices.map((choice) => choice.model), default: step.model ?? choices[0]!.model, description: `The model for the step ${step.name} (${step.label})` };
  }
  properties.approve_before = { type: "string", enum: config.steps.slice(1).map((step) => step.name), description: "Repeatable: stop before this step until approved" };
  for (const step of config.steps) {
    const policy = candidatePolicy(step);
    if (!policy.allowed) continue;
    properties[`candidates[${step.name}]`] = { type: "integer", minimum: 1, maximum: MAX_CANDIDATES_PER_STEP, default: policy.default, description: `Run the step ${step.name} as this many candidates side by side; the job then waits for POST /workflows/pick` };
  }
  if (Object.keys(properties).some((name) => name.startsWith("candidates["))) {
    properties.auto_pick = { type: "boolean", default: false, description: "Take the first candidate that succeeded instead of waiting for a pick" };
  }
  // The fields every execute takes, whatever the workflow (lib/api/schemas.ts, executeFormSchema).
  const common = (z.toJSONSchema(executeFormSchema, { io: "input" }) as { properties: Record<string, unknown> }).properties;
  for (const name of ["webhook_url", "webhook_events", "deadline_seconds"]) properties[name] = common[name];
  return { type: "object", title: config.name, description: config.description, properties, required, additionalProperties: false };
}

/** The components the execute request body refers to, one per installed workflow. */
export function executeFormComponents(workflows: Iterable<Workflow>): Record<string, unknown> {
  return Object.fromEntries([...workflows].map((workflow) => [`Execute.${workflow.config.id}`, executeFormOf(workflow)]));
}
