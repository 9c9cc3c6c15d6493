import "server-only";
import { ApiError } from "@/lib/api/errors";
import type { Config } from "@/lib/config";
import { readJsonLimited } from "@/lib/api/body";
import { parseMultipart } from "@/lib/api/multipart";
import { rerunBodySchema } from "@/lib/api/schemas";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import { overallProgress } from "@/lib/engine/run";
import { budgetGuard, withinBudget } from "@/lib/jobs/budget";
import { estimateJob, rerunEstimate } from "@/lib/jobs/costs";
import { deadlineFrom } from "@/lib/jobs/deadline";
import { approvalStepsOf } from "@/lib/jobs/execute";
import { candidatesOf } from "@/lib/jobs/pick";
import { getOwnJob, type JobsDeps } from "@/lib/jobs/service";
import { stepCheckpoint } from "@/lib/store/checkpoints";
import type { JobRecord, NewRerun } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import { resolveInputs } from "@/lib/workflows/public";
import { describeWorkflowChange, workflowChangedMessage } from "@/lib/workflows/versions";

/** Parents a rerun can be made from: ended jobs. An active one still writes the checkpoints a rerun would copy. */
const RERUNNABLE_STATES: readonly JobStatus[] = ["completed", "failed", "canceled"];
const MAX_BODY_BYTES = 64 * 1024;

type RerunDeps = Pick<JobsDeps, "config" | "store" | "driver" | "notifier" | "findWorkflow" | "providers">;

/**
 * POST /workflows/rerun/<job_id>: a new job that takes the parent's completed steps before
 * `from_step` as its own checkpoints (no provider is called for them, the upload is not sent
 * again), and runs from `from_step` with the parent's inputs overridden by the given ones.
 * Checks everything first: a refused request stores nothing.
 */
export async function rerunFromRequest(deps: RerunDeps, request: Request, userId: string, parentJobId: string): Promise<{ jobId: string; parentJobId: string }> {
  const parent = await getOwnJob(deps.store, userId, parentJobId);
  const body = rerunBodySchema.safeParse(await readRerunBody(request, deps.config));
  if (!body.success) throw new ApiError("invalid_request", body.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  if (!RERUNNABLE_STATES.includes(parent.status as JobStatus)) {
    throw new ApiError("wrong_state", `The job is ${parent.status}; only completed, failed or canceled jobs can be rerun.`);
  }
  const workflow = deps.findWorkflow(parent.workflowId);
  if (!workflow) throw new ApiError("workflow_changed", `Workflow ${parent.workflowId} is no longer installed, so this job cannot be rerun.`);
  const fromStep = resolveFromStep(workflow, parent, body.data.from_step);
  await refuseChangedSteps(deps, parent, workflow, fromStep);
  const inputs = mergeInputs(workflow, parent.inputs, body.data.inputs ?? {});
  // Only the steps the rerun runs take candidates (the earlier ones are copied from the parent).
  const candidates = candidatesOf(workflow, body.data.candidates ?? {}, body.data.auto_pick, fromStep);

  const steps = workflow.config.steps;
  const copied = steps.slice(0, fromStep).map((_step, index) => stepCheckpoint(parent.checkpoints, index)!);
  const rerun: NewRerun = {
    parentJobId: parent.id,
    fromStep,
    progress: overallProgress(fromStep, steps.length, 0),
    checkpoints: copied.map((row) => ({ stepIndex: row.stepIndex, candidate: 0, output: row.output ?? {}, startedAt: row.startedAt, completedAt: row.completedAt })),
    copiedEvents: copied.map((row): JobEventInput => ({ type: "checkpoint", data: { step: row.stepIndex, step_name: steps[row.stepIndex]!.name, status: "completed", output: row.output ?? {} } })),
  };
  // Within the user's monthly budget, as execute is: only the steps it runs again are estimated.
  const budget = await budgetGuard(deps, userId);
  const jobId = await withinBudget(() =>
    deps.store.insertJob({
      userId,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs,
      maxAttempts: workflow.config.retry?.max_attempts ?? deps.config.WORKFLOW_MAX_ATTEMPTS,
      estimate: rerunEstimate(estimateJob(workflow, deps.providers, candidates.steps, parent.models), fromStep),
      // The rerun runs the models its parent chose.
      models: parent.models,
      ...(budget && { budget }),
      firstEvent: {
        type: "progress",
        data: { step: fromStep, step_name: steps[fromStep]!.name, progress: rerun.progress, step_progress: 0, message: `Queued: rerun from ${steps[fromStep]!.label}` },
      },
      rerun,
      // The steps config.json makes wait for approval still do, from the one the rerun runs from.
      approvalSteps: approvalStepsOf(workflow, []).filter((index) => index >= fromStep),
      ...(Object.keys(candidates.steps).length > 0 && { candidates }),
      ...(body.data.deadline_seconds !== undefined && { deadlineAt: deadlineFrom(body.data.deadline_seconds)! }),
    }),
  );
  deps.notifier.notify(parent.id);
  await deps.driver.enqueue(jobId, userId);
  return { jobId, parentJobId: parent.id };
}

/** The body as the one schema reads it: JSON as sent, or a multipart form's `from_step` and `inputs[<name>]` fields. */
async function readRerunBody(request: Request, config: Pick<Config, "UPLOAD_BODY_TIMEOUT_SECONDS" | "UPLOAD_SPILL_THRESHOLD_BYTES">): Promise<unknown> {
  const contentType = (request.headers.get("content-type") ?? "").toLowerCase();
  if (contentType.startsWith("application/json")) {
    // Counted while it streams: a body past the limit is refused before more of it is held.
    return readJsonLimited(request, MAX_BODY_BYTES, "The body is not valid JSON.");
  }
  if (!contentType.startsWith("multipart/form-data")) {
    throw new ApiError("unsupported_media_type", "Send the request as application/json or multipart/form-data with from_step and inputs[<name>] fields.");
  }
  const form = await parseMultipart(request, {
    maxFileBytes: 0,
    maxFields: 20,
    maxFieldBytes: 16 * 1024,
    deadlineMs: config.UPLOAD_BODY_TIMEOUT_SECONDS * 1000,
    spillThresholdBytes: config.UPLOAD_SPILL_THRESHOLD_BYTES,
  });
  if (form.files.length > 0) throw new ApiError("invalid_form", "A rerun takes no file: it uses the parent job's images.");
  const inputs: Record<string, string> = {};
  const candidates: Record<string, string> = {};
  const body: Record<string, unknown> = {};
  for (const [name, value] of form.fields) {
    const input = /^inputs\[([^\]]{1,64})\]$/.exec(name);
    const candidate = /^candidates\[([^\]]{1,64})\]$/.exec(name);
    if (input) inputs[input[1]!] = value;
    else if (candidate) candidates[candidate[1]!] = value;
    else if (name === "from_step" && /^\d{1,3}$/.test(value.trim())) body[name] = Number(value.trim());
    else if (name === "deadline_seconds" && /^\d{1,7}$/.test(value.trim())) body[name] = Number(value.trim());
    else body[name] = value;
  }
  if (Object.keys(inputs).length > 0) body.inputs = inputs;
  if (Object.keys(candidates).length > 0) body.candidates = candidates;
  return body;
}

/** The step to run from: one the parent completed, or its first incomplete one (else 422). */
function resolveFromStep(workflow: Workflow, parent: JobRecord, requested: number | string): number {
  const steps = workflow.config.steps;
  const index = typeof requested === "number" ? requested : steps.findIndex((step) => step.name === requested);
  if (index < 0 || index >= steps.length) {
    throw new ApiError("invalid_input", `from_step ${JSON.stringify(requested)} is not a step of this workflow; its steps are ${steps.map((step, i) => `${i} (${step.name})`).join(", ")}.`);
  }
  const firstIncomplete = steps.findIndex((_step, i) => stepCheckpoint(parent.checkpoints, i)?.status !== "completed");
  const limit = firstIncomplete === -1 ? steps.length - 1 : firstIncomplete;
  if (index > limit) {
    throw new ApiError("invalid_input", `The job did not complete the steps before ${steps[index]!.name}; rerun from step ${limit} (${steps[limit]!.name}) or earlier.`);
  }
  return index;
}

/** The copied steps and the one run from must be the same steps in the workflow installed now (lib/workflows/versions.ts). */
async function refuseChangedSteps(deps: RerunDeps, parent: JobRecord, workflow: Workflow, fromStep: number): Promise<void> {
  if (parent.workflowVersion === null || parent.workflowVersion === workflow.version) return;
  const pinned = await deps.store.readWorkflowVersion(parent.workflowId, parent.workflowVersion);
  if (pinned === undefined) return;
  const change = describeWorkflowChange(pinned, workflow.config.steps, fromStep, parent.models);
  if (change) throw new ApiError("workflow_changed", workflowChangedMessage(workflow.config.name, change).replace("Start a new run.", "Rerun from an earlier step or start a new run."));
}

/** The parent's inputs with the given ones in their place, checked as execute checks them (422 when not). */
function mergeInputs(workflow: Workflow, parentInputs: Record<string, string>, changes: Record<string, string>): Record<string, string> {
  const declared = new Set(workflow.config.inputs.map((input) => input.name));
  const unknown = Object.keys(changes).filter((name) => !declared.has(name));
  if (unknown.length > 0) throw new ApiError("invalid_input", `Unknown input ${unknown.join(", ")}; this workflow declares: ${[...declared].join(", ") || "none"}.`);
  const merged = new Map(Object.entries({ ...parentInputs, ...changes }).filter(([name]) => declared.has(name)));
  const { inputs, problems } = resolveInputs(workflow, merged);
  if (problems.length > 0) throw new ApiError("invalid_input", problems.join(" "));
  return inputs;
}
