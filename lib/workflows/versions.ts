import "server-only";
import { z } from "zod";

/**
 * Whether a job can resume on the workflow installed now. A job records the version it started
 * with (a hash of the workflow's config.json and code) and workflow_versions keeps that version's
 * config. Resuming is safe when every step up to and including the one the job resumes at is
 * still the same step: same name, same type, same model, at the same place. Anything else
 * (prompts' defaults, labels, later steps, handler code) may change under a waiting job.
 * docs/decisions/2026-12-01-pinned-workflow-versions.md says why.
 */

/** The part of a step that decides whether it is "the same step"; read leniently from stored configs of any age. */
const storedStepSchema = z.object({ name: z.string(), type: z.string().optional(), model: z.string().optional() }).loose();
const storedConfigSchema = z.object({ steps: z.array(storedStepSchema) }).loose();

export interface StepIdentity {
  name: string;
  type?: string | undefined;
  model?: string | undefined;
}

/**
 * Why a job pinned to `pinnedConfig` cannot resume at step `resumeAt` on `currentSteps`, in words
 * for the job's error; undefined when it can. A pinned config that cannot be read counts as changed.
 */
export function describeWorkflowChange(pinnedConfig: unknown, currentSteps: readonly StepIdentity[], resumeAt: number): string | undefined {
  const pinned = storedConfigSchema.safeParse(pinnedConfig);
  if (!pinned.success) return "the version this job started with could not be read";
  const before = pinned.data.steps;
  for (let index = 0; index <= resumeAt && index < before.length; index++) {
    const was = before[index]!;
    const now = currentSteps[index];
    if (!now) return `step ${index + 1} ("${was.name}") was removed`;
    if (now.name !== was.name) return `step ${index + 1} was "${was.name}" and is now "${now.name}"`;
    if ((now.type ?? "") !== (was.type ?? "")) return `step ${index + 1} ("${was.name}") changed its type from ${was.type ?? "none"} to ${now.type ?? "none"}`;
    if ((now.model ?? "") !== (was.model ?? "")) return `step ${index + 1} ("${was.name}") changed its model from ${was.model ?? "none"} to ${now.model ?? "none"}`;
  }
  return undefined;
}

/** The error message of a job that cannot resume: what changed and what to do. */
export function workflowChangedMessage(workflowName: string, change: string): string {
  return `The workflow "${workflowName}" changed since this job started (${change}), so it cannot resume where it stopped. Start a new run.`;
}
