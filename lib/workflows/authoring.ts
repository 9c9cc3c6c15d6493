import "server-only";
import type { ModelOutput, ResourceType } from "@/lib/providers/types";
import { HardError } from "@/lib/workflows/errors";
import { mapModelInput } from "@/lib/workflows/models";
import type { StepContext } from "@/lib/workflows/step-context";

/**
 * Helpers a workflow's handlers are written with (re-exported by lib/workflows/public.ts): run the
 * step's model, keep a file, read the previous step's output. They do what every handler would
 * otherwise repeat, the same way everywhere.
 */

const EXTENSIONS: Record<string, string> = { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4" };

/**
 * Where a step keeps a file: deterministic per job and step (and candidate), so a retried step
 * overwrites its own output instead of adding one.
 */
export function mediaKey(ctx: Pick<StepContext, "jobId" | "stepIndex" | "step" | "candidate">, contentType: string, suffix = ""): string {
  // Candidates of one step keep a file each (-c1, -c2, ...): they must not overwrite each other.
  const candidate = ctx.candidate > 0 ? `-c${ctx.candidate}` : "";
  return `jobs/${ctx.jobId}/${ctx.stepIndex}-${ctx.step.name}${candidate}${suffix}.${EXTENSIONS[contentType] ?? "bin"}`;
}

/**
 * Runs the step's model (the job's choice, else the step's default) on `input`, merged over the
 * config's `input` and renamed by the chosen model's `input_map`. Progress, cancel and the
 * provider's durable state (a prediction id) are the step's.
 */
export function runModel(ctx: StepContext, input: Record<string, unknown>): Promise<ModelOutput> {
  if (!ctx.step.model) throw new HardError("invalid_config", `Step ${ctx.step.name} names no model`);
  return ctx.providers.models.run({
    model: ctx.step.model,
    input: mapModelInput(ctx.step, { ...ctx.step.input, ...input }),
    jobId: ctx.jobId,
    stepIndex: ctx.stepIndex,
    // A candidate's run says which it is (local models vary their output by it, as a real model's would differ).
    ...(ctx.candidate > 0 && { candidate: ctx.candidate }),
    signal: ctx.signal,
    onProgress: (percent, message) => ctx.progress(percent, message),
    state: ctx.state,
  });
}

/**
 * Keeps a file in the job's storage (local disk or Cloudinary) and returns its URL. A step that
 * keeps more than one file names the others with a `suffix` (e.g. "-subject-reference").
 */
export async function storeMedia(ctx: StepContext, media: { body: Buffer; contentType: string }, resourceType: ResourceType, suffix = ""): Promise<string> {
  const stored = await ctx.providers.storage.put({ key: mediaKey(ctx, media.contentType, suffix), body: media.body, contentType: media.contentType, resourceType, signal: ctx.signal });
  return stored.url;
}

/** A URL the previous step produced under `field` (a hard error when it did not: the workflow is wrong). */
export function previousUrl(ctx: Pick<StepContext, "previous">, field: string): string {
  const value = ctx.previous[field];
  if (typeof value !== "string") throw new HardError("invalid_input", `The previous step produced no ${field}`);
  return value;
}

/** A declared number or seed input as a number (inputs arrive as text); undefined when left empty. */
export function numberInput(ctx: Pick<StepContext, "inputs">, name: string): number | undefined {
  const value = ctx.inputs[name];
  return value === undefined || value === "" ? undefined : Number(value);
}
