import "server-only";
import { ApiError } from "@/lib/api/errors";
import { readJsonLimited } from "@/lib/api/body";
import { parseMultipart } from "@/lib/api/multipart";
import type { Config } from "@/lib/config";
import type { JobsDeps } from "@/lib/jobs/service";
import type { ProviderRuntime } from "@/lib/providers";
import type { JobEstimate } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import { candidateFields, resolveCandidates } from "@/lib/workflows/candidates";
import { MAX_IMAGE_INPUTS } from "@/lib/workflows/inputs";
import { listWorkflows, resolveInputs, type UploadLimits } from "@/lib/workflows/public";
import { resolveModels, stepsWithModels, takeModelFields } from "@/lib/workflows/models";
import type { Registry } from "@/lib/workflows/registry";
import { estimateWorkflow, toUsd, type CostBasis, type WorkflowEstimate } from "@/lib/workflows/pricing";

/** An estimate's JSON body: the execute form's fields (20 of at most 16 KB), with room to spare. */
const MAX_ESTIMATE_BODY_BYTES = 64 * 1024;

/** The most candidates an estimate may ask about. */
export const MAX_CANDIDATES = 8;

export const LOCAL_MODELS_NOTE = "Models run locally on this server: nothing is charged.";

/** Whether the models run locally (the embedded default): they cost nothing. */
export function modelsAreLocal(providers: Pick<ProviderRuntime, "replicate">): boolean {
  return providers.replicate === undefined;
}

/**
 * The job's estimate, with each step priced as the model it runs (`models`: the job's choices; none:
 * the defaults). `candidates`: one count for every model step, or counts by step index (a job's,
 * lib/workflows/candidates.ts).
 */
export function estimateJob(workflow: Workflow, providers: Pick<ProviderRuntime, "replicate">, candidates: number | Record<number, number> = 1, models: Record<string, string> = {}): WorkflowEstimate {
  return estimateWorkflow({ steps: stepsWithModels(workflow.config, models) }, { localModels: modelsAreLocal(providers), candidates });
}

/** What a job stores of its estimate. */
export function storedEstimate(estimate: WorkflowEstimate): JobEstimate {
  return { micros: estimate.micros, steps: estimate.steps.map((step) => step.micros) };
}

/**
 * What a rerun from `fromStep` stores: the steps before it are copied from the parent, not run
 * again, so they are estimated (and charged) at 0.
 */
export function rerunEstimate(estimate: WorkflowEstimate, fromStep: number): JobEstimate {
  const steps = estimate.steps.map((step, index) => (index < fromStep ? 0 : step.micros));
  return { micros: steps.reduce<number>((sum, micros) => sum + (micros ?? 0), 0), steps };
}

export interface EstimateJson {
  total_usd: number;
  currency: "USD";
  /** False when some step's price is unknown: the total is a lower bound. */
  complete: boolean;
  candidates: number;
  /** Set when nothing is charged because the models run locally. */
  note: string | null;
  steps: { step: number; step_name: string; basis: CostBasis; estimated_usd: number | null; candidates: number }[];
}

/** `candidates`: the count asked for every model step (the `candidates=<n>` form), or counts by step index. */
export function estimateToJson(estimate: WorkflowEstimate, candidates: number | Record<number, number>): EstimateJson {
  const local = estimate.steps.some((step) => step.basis === "local");
  return {
    total_usd: toUsd(estimate.micros),
    currency: "USD",
    complete: estimate.complete,
    candidates: typeof candidates === "number" ? candidates : 1,
    note: local ? LOCAL_MODELS_NOTE : null,
    steps: estimate.steps.map((step) => ({
      step: step.step,
      step_name: step.stepName,
      basis: step.basis,
      estimated_usd: step.micros === null ? null : toUsd(step.micros),
      candidates: typeof candidates === "number" ? (step.basis === "no_model" ? 1 : candidates) : (candidates[step.step] ?? 1),
    })),
  };
}

/**
 * POST /workflows/estimate: the execute form's fields (no file needed; one sent is ignored), or
 * the same fields as a JSON object, plus an optional `candidates` count. Inputs are validated as
 * execute validates them, so an estimate answers for a request that execute would accept.
 */
export async function estimateFromRequest(deps: Pick<JobsDeps, "config" | "findWorkflow" | "providers">, request: Request) {
  const { fields, jsonTyped } = await readEstimateFields(request, deps.config);
  const workflowId = fields.get("workflow_id")?.trim();
  if (!workflowId) throw new ApiError("invalid_form", "workflow_id is required.");
  const workflow = deps.findWorkflow(workflowId);
  if (!workflow) throw new ApiError("not_found", `No workflow with id ${JSON.stringify(workflowId.slice(0, 64))}. See GET /workflows/list.`);
  refuseMistypedJson(workflow, jsonTyped);
  const candidatesText = fields.get("candidates")?.trim();
  fields.delete("candidates");
  // Per step (`candidates[<step>]`, as execute takes them, config.json's defaults applied), or one count for every model step.
  const byStep = resolveCandidates(workflow, candidateFields(fields));
  fields.delete("auto_pick");
  let candidates: number | Record<number, number> = byStep.steps;
  if (candidatesText !== undefined && candidatesText !== "") {
    candidates = Number(candidatesText);
    if (!Number.isInteger(candidates) || candidates < 1 || candidates > MAX_CANDIDATES) {
      throw new ApiError("invalid_form", `candidates must be a whole number from 1 to ${MAX_CANDIDATES}.`);
    }
  }
  const { models: requested, rest } = takeModelFields(fields);
  const models = resolveModels(workflow.config, requested);
  const { problems } = resolveInputs(workflow, rest);
  if (byStep.problems.length + problems.length + models.problems.length > 0) throw new ApiError("invalid_form", [...byStep.problems, ...models.problems, ...problems].join(" "));
  return { workflowId: workflow.config.id, estimate: estimateToJson(estimateJob(workflow, deps.providers, candidates, models.models), candidates) };
}

/**
 * A JSON number or boolean is the natural way to send a number, seed or boolean input; anywhere
 * else (a text input, an unknown field) the value must be a string, as it was before inputs had types.
 */
function refuseMistypedJson(workflow: Workflow, jsonTyped: Map<string, "number" | "boolean">): void {
  for (const [name, kind] of jsonTyped) {
    if (name === "candidates" && kind === "number") continue;
    if (name === "auto_pick" && kind === "boolean") continue;
    const input = workflow.config.inputs.find((candidate) => candidate.name === name);
    const fits = kind === "number" ? input?.type === "number" || input?.type === "seed" : input?.type === "boolean";
    if (!fits) throw new ApiError("invalid_json", `Field ${name.slice(0, 64)} must be a string.`);
  }
}

async function readEstimateFields(request: Request, config: Config): Promise<{ fields: Map<string, string>; jsonTyped: Map<string, "number" | "boolean"> }> {
  const jsonTyped = new Map<string, "number" | "boolean">();
  const contentType = (request.headers.get("content-type") ?? "").toLowerCase();
  if (contentType.startsWith("application/json")) {
    const body = await readJsonLimited(request, MAX_ESTIMATE_BODY_BYTES, "The body is not valid JSON.");
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw new ApiError("invalid_json", "Send a JSON object of fields, e.g. {\"workflow_id\": \"…\"}.");
    const fields = new Map<string, string>();
    for (const [name, value] of Object.entries(body)) {
      if (typeof value === "string") fields.set(name, value);
      else if (name === "candidates" && typeof value === "object" && value !== null && !Array.isArray(value)) {
        // {"candidates": {"image_edit": 3}}: as the form's candidates[image_edit]=3.
        for (const [step, count] of Object.entries(value as Record<string, unknown>)) fields.set(`candidates[${step.slice(0, 64)}]`, String(count));
      }
      // Typed inputs may come as JSON numbers and booleans; they are checked as their text is.
      else if (typeof value === "number" || typeof value === "boolean") {
        fields.set(name, String(value));
        jsonTyped.set(name, typeof value === "number" ? "number" : "boolean");
      }
      else if (name === "models" && typeof value === "object" && value !== null && !Array.isArray(value)) {
        for (const [step, model] of Object.entries(value)) {
          if (typeof model !== "string") throw new ApiError("invalid_json", `models.${step.slice(0, 64)} must be a string (owner/name).`);
          fields.set(`models[${step}]`, model);
        }
      } else throw new ApiError("invalid_json", `Field ${name.slice(0, 64)} must be a string.`);
    }
    return { fields, jsonTyped };
  }
  if (!contentType.startsWith("multipart/form-data")) {
    throw new ApiError("unsupported_media_type", "Send the fields as multipart/form-data (as for execute) or as a JSON object.");
  }
  // The same form as execute's, its images included (they do not change the estimate).
  const form = await parseMultipart(request, {
    maxFileBytes: config.MAX_UPLOAD_BYTES,
    maxFiles: MAX_IMAGE_INPUTS,
    maxFields: 20,
    maxFieldBytes: 16 * 1024,
    deadlineMs: config.UPLOAD_BODY_TIMEOUT_SECONDS * 1000,
    spillThresholdBytes: config.UPLOAD_SPILL_THRESHOLD_BYTES,
  });
  return { fields: form.fields, jsonTyped };
}

/** The installed workflows as GET /workflows/list shows them, each with its estimate for the default inputs. */
export function listPricedWorkflows(deps: { registry: Registry; config: UploadLimits; providers: Pick<ProviderRuntime, "replicate"> }) {
  return listWorkflows(deps.registry, deps.config, {
    estimate: (workflow) => {
      // The default run: config.json's default candidates included.
      const { steps } = resolveCandidates(workflow, {});
      return estimateToJson(estimateJob(workflow, deps.providers, steps), steps);
    },
    localModels: modelsAreLocal(deps.providers),
  });
}
