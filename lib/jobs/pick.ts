import "server-only";
import { ApiError } from "@/lib/api/errors";
import { readJsonLimited } from "@/lib/api/body";
import { pickBodySchema } from "@/lib/api/schemas";
import type { JobEventInput } from "@/lib/contract/events";
import { overallProgress } from "@/lib/engine/run";
import { getOwnJob, type JobsDeps } from "@/lib/jobs/service";
import type { JobCandidates } from "@/lib/store/types";
import { candidateFields, parseAutoPick, resolveCandidates } from "@/lib/workflows/candidates";
import type { Workflow } from "@/lib/workflows/definition";

const MAX_BODY_BYTES = 16 * 1024;

/**
 * POST /workflows/pick/<job_id>: a person picks one of the candidates of the step the job awaits
 * (awaiting_input); that candidate's output becomes the step's, feeds the next step, and the job
 * runs on (no attempt spent). A compare-and-set on awaiting_input at that step: of two picks, or a
 * pick and a cancel, exactly one applies; the other is answered 409 and changes nothing.
 */
export async function pickFromRequest(deps: Pick<JobsDeps, "store" | "driver" | "notifier" | "findWorkflow">, request: Request, userId: string, jobId: string) {
  const job = await getOwnJob(deps.store, userId, jobId);
  const body = pickBodySchema.safeParse(await readJson(request));
  if (!body.success) throw new ApiError("invalid_request", body.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  if (job.status !== "awaiting_input") throw new ApiError("wrong_state", `The job is ${job.status}; only a job awaiting a pick (awaiting_input) takes one.`);
  const steps = deps.findWorkflow(job.workflowId)?.config.steps ?? [];
  const requested = body.data.step;
  const stepIndex = typeof requested === "number" ? requested : steps.findIndex((step) => step.name === requested);
  const awaited = job.execution.currentStep;
  const awaitedName = steps[awaited]?.name ?? `step_${awaited}`;
  if (stepIndex < 0 || stepIndex >= Math.max(steps.length, awaited + 1)) {
    throw new ApiError("invalid_input", `step ${JSON.stringify(requested)} is not a step of this workflow; the job awaits a pick at step ${awaited} (${awaitedName}).`);
  }
  if (stepIndex !== awaited) throw new ApiError("wrong_state", `The job awaits a pick at step ${awaited} (${awaitedName}), not at step ${stepIndex}.`);
  const { candidate } = body.data;
  const rows = job.checkpoints.filter((row) => row.stepIndex === stepIndex && row.candidate > 0);
  const chosen = rows.find((row) => row.candidate === candidate);
  if (!chosen || chosen.status !== "completed") {
    const pickable = rows.filter((row) => row.status === "completed").map((row) => row.candidate);
    throw new ApiError("invalid_input", `Candidate ${candidate} of ${awaitedName} ${chosen ? "did not succeed" : "does not exist"}; pick one of: ${pickable.join(", ")}.`);
  }
  const output = chosen.output ?? {};
  const progress = overallProgress(stepIndex + 1, Math.max(steps.length, 1), 0);
  const events: JobEventInput[] = [
    { type: "progress", data: { step: stepIndex, step_name: awaitedName, progress, step_progress: 100, message: `Candidate ${candidate} picked` } },
    { type: "checkpoint", data: { step: stepIndex, step_name: awaitedName, status: "completed", output, picked_candidate: candidate, picked_by: "user" } },
  ];
  const picked = await deps.store.pickCandidate(jobId, { stepIndex, candidate, output, pickedAt: new Date(), events });
  if (!picked) throw new ApiError("wrong_state", "The job changed state meanwhile (picked or canceled); reload to see it.");
  deps.notifier.notify(jobId);
  await deps.driver.resumePicked(jobId, stepIndex, candidate);
  return getOwnJob(deps.store, userId, jobId);
}

async function readJson(request: Request): Promise<unknown> {
  if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    throw new ApiError("unsupported_media_type", 'Send the pick as application/json: {"step": "<step name or index>", "candidate": <1..n>}.');
  }
  return readJsonLimited(request, MAX_BODY_BYTES, "The body is not valid JSON.");
}

/**
 * A new job's candidates from execute's (or a rerun's) fields: `candidates[<step name>]=<n>`
 * fields, or one `candidates` field holding a JSON object {"<step name>": n}, and `auto_pick`.
 * The fields read are taken out of `fields`. Refused requests (unknown step, a step that forbids
 * candidates, a count outside 1-4) are 422 and store nothing. `fromStep`: a rerun's steps before
 * it are copied, not run, so only later steps run as candidates.
 */
export function candidatesOfFields(workflow: Workflow, fields: Map<string, string>, fromStep = 0): JobCandidates {
  const requested: Record<string, unknown> = candidateFields(fields);
  const whole = fields.get("candidates");
  if (whole !== undefined) {
    fields.delete("candidates");
    let parsed: unknown;
    try {
      parsed = JSON.parse(whole);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new ApiError("invalid_input", 'candidates must be a JSON object of counts by step name, e.g. {"image_edit": 3}, or candidates[<step name>]=<n> fields.');
    }
    Object.assign(requested, parsed);
  }
  const autoPickField = fields.get("auto_pick");
  fields.delete("auto_pick");
  return candidatesOf(workflow, requested, autoPickField, fromStep);
}

/** As candidatesOfFields, from JSON values: {"candidates": {"image_edit": 3}, "auto_pick": true}. */
export function candidatesOf(workflow: Workflow, requested: Record<string, unknown>, autoPickValue: unknown, fromStep = 0): JobCandidates {
  const { steps, problems } = resolveCandidates(workflow, requested);
  const autoPick = parseAutoPick(autoPickValue);
  if (autoPick === undefined) problems.push("auto_pick must be true or false.");
  if (problems.length > 0) throw new ApiError("invalid_input", problems.join(" "));
  const from = Object.fromEntries(Object.entries(steps).filter(([index]) => Number(index) >= fromStep));
  return { steps: from, autoPick: autoPick === true };
}
