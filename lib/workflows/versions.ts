import "server-only";
import { z } from "zod";

/**
 * Whether a job can resume on the workflow installed now. A job records the version it started
 * with (a hash of the workflow's config.json and code) and workflow_versions keeps that version's
 * config. Resuming is safe when every step up to and including the one the job resumes at is
 * still the same step: same name, same type, running the same model, at the same place. The model
 * is the one the job runs there: a step that offers a choice runs the job's own (`jobs.models`,
 * recorded at execute), not the step's default. Anything else (prompts' defaults, labels, later
 * steps, handler code, other models a step offers) may change under a waiting job.
 * docs/decisions/2026-12-01-pinned-workflow-versions.md says why.
 */

/** A step's model choices as stored; one that cannot be read counts as none (the step's `model` decides). */
const storedChoicesSchema = z.array(z.object({ model: z.string() }).loose()).optional().catch(undefined);
/** The part of a step that decides whether it is "the same step"; read leniently from stored configs of any age. */
const storedStepSchema = z.object({ name: z.string(), type: z.string().optional(), model: z.string().optional(), models: storedChoicesSchema }).loose();
const storedConfigSchema = z.object({ steps: z.array(storedStepSchema) }).loose();

export interface StepIdentity {
  name: string;
  type?: string | undefined;
  model?: string | undefined;
  /** The models a caller may choose from at this step (lib/workflows/models.ts). */
  models?: readonly { model: string }[] | undefined;
}

/**
 * The model a job runs at `step` when it chose `chosen` there, as stepWithModel (lib/workflows/models.ts)
 * picks it: a step without choices runs its `model`; one with choices runs the chosen one while it
 * offers it, else its default.
 */
function modelRunAt(step: StepIdentity, chosen: string | undefined): string | undefined {
  const choices = step.models ?? [];
  if (choices.length === 0) return step.model;
  const standard = step.model ?? choices[0]!.model;
  const wanted = chosen ?? standard;
  return choices.some((choice) => choice.model === wanted) ? wanted : standard;
}

/**
 * Why a job pinned to `pinnedConfig` cannot resume at step `resumeAt` on `currentSteps`, in words
 * for the job's error; undefined when it can. `jobModels` are the job's models by step name
 * (`jobs.models`; {} for jobs from before models could be chosen, which run the defaults). A pinned
 * config that cannot be read counts as changed.
 */
export function describeWorkflowChange(pinnedConfig: unknown, currentSteps: readonly StepIdentity[], resumeAt: number, jobModels: Readonly<Record<string, string>> = {}): string | undefined {
  const pinned = storedConfigSchema.safeParse(pinnedConfig);
  if (!pinned.success) return "the version this job started with could not be read";
  const before = pinned.data.steps;
  for (let index = 0; index <= resumeAt && index < before.length; index++) {
    const was = before[index]!;
    const now = currentSteps[index];
    if (!now) return `step ${index + 1} ("${was.name}") was removed`;
    if (now.name !== was.name) return `step ${index + 1} was "${was.name}" and is now "${now.name}"`;
    if ((now.type ?? "") !== (was.type ?? "")) return `step ${index + 1} ("${was.name}") changed its type from ${was.type ?? "none"} to ${now.type ?? "none"}`;
    const chosen = jobModels[was.name];
    const ran = modelRunAt(was, chosen);
    const runs = modelRunAt(now, chosen);
    if ((runs ?? "") === (ran ?? "")) continue;
    if (chosen !== undefined && ran === chosen && (now.models?.length ?? 0) > 0) return `step ${index + 1} ("${was.name}") no longer offers ${chosen}, the model this job runs there`;
    return `step ${index + 1} ("${was.name}") changed its model from ${ran ?? "none"} to ${runs ?? "none"}`;
  }
  return undefined;
}

/** The error message of a job that cannot resume: what changed and what to do. */
export function workflowChangedMessage(workflowName: string, change: string): string {
  return `The workflow "${workflowName}" changed since this job started (${change}), so it cannot resume where it stopped. Start a new run.`;
}
