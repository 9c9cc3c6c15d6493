import "server-only";
import { randomInt, randomUUID } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import { checkImage } from "@/lib/api/image-check";
import { parseMultipart, type MultipartFile } from "@/lib/api/multipart";
import { budgetGuard, withinBudget } from "@/lib/jobs/budget";
import { estimateJob } from "@/lib/jobs/costs";
import { deadlineSecondsOf, withoutDeadlineField } from "@/lib/jobs/deadline";
import { IDEMPOTENCY_TTL_MS, replayOf, requestHash, type Answer } from "@/lib/jobs/idempotency";
import { candidatesOfFields } from "@/lib/jobs/pick";
import { createJob, jobRows, type JobsDeps, type NewJob } from "@/lib/jobs/service";
import { webhookTargetOf, withoutWebhookFields } from "@/lib/webhooks/target";
import type { Workflow } from "@/lib/workflows/definition";
import { toUsd, type WorkflowEstimate } from "@/lib/workflows/pricing";
import { MAX_SEED } from "@/lib/workflows/inputs";
import { resolveModels, takeModelFields } from "@/lib/workflows/models";
import { resolveInputs, uploadOf } from "@/lib/workflows/public";

/**
 * POST /workflows/execute: reads the multipart form while it streams, checks the workflow, the
 * inputs and the image (by content), and only then stores anything. With an Idempotency-Key, the
 * job and its key are stored in one transaction: the same key and request answer the original
 * answer (same job), the same key with another request a 422, and of two racing requests one
 * starts the job.
 */
export async function executeFromRequest(
  deps: Pick<JobsDeps, "config" | "store" | "driver" | "findWorkflow" | "providers">,
  request: Request,
  userId: string,
  idempotencyKey?: string,
): Promise<Answer> {
  const cfg = deps.config;
  const form = await parseMultipart(request, {
    maxFileBytes: cfg.MAX_UPLOAD_BYTES,
    maxFields: 20,
    maxFieldBytes: 16 * 1024,
    deadlineMs: cfg.UPLOAD_BODY_TIMEOUT_SECONDS * 1000,
    spillThresholdBytes: cfg.UPLOAD_SPILL_THRESHOLD_BYTES,
    repeatable: ["approve_before"],
  });
  const workflowId = form.fields.get("workflow_id")?.trim();
  if (!workflowId) throw new ApiError("invalid_form", "workflow_id is required.");
  const workflow = deps.findWorkflow(workflowId);
  if (!workflow) throw new ApiError("not_found", `No workflow with id ${JSON.stringify(workflowId.slice(0, 64))}. See GET /workflows/list.`);
  const file = checkUploadField(workflow, form.file);
  const webhook = webhookTargetOf(form.fields, cfg.OUTPUT_FETCH_ALLOW_INSECURE);
  // candidates[<step>]=<n> and auto_pick come out of the fields before the inputs are checked, as do models[<step>] and deadline_seconds.
  const deadlineSeconds = deadlineSecondsOf(form.fields);
  const inputFields = withoutDeadlineField(withoutWebhookFields(form.fields));
  const candidates = candidatesOfFields(workflow, inputFields);
  const { models: requested, rest } = takeModelFields(inputFields);
  const models = resolveModels(workflow.config, requested);
  const { inputs, problems } = resolveInputs(workflow, rest, { randomSeed: () => randomInt(0, MAX_SEED + 1) });
  if (problems.length + models.problems.length > 0) throw new ApiError("invalid_form", [...models.problems, ...problems].join(" "));
  const approvalSteps = approvalStepsOf(workflow, form.lists.get("approve_before") ?? []);
  const image = file && (await checkImage(file.data, cfg.MAX_IMAGE_PIXELS));
  const input: NewJob = {
    userId,
    workflow,
    inputs,
    ...(file && image ? { upload: { filename: file.filename, contentType: image.contentType, data: file.data, width: image.width, height: image.height } } : {}),
    approvalSteps,
    ...(webhook && { webhook }),
    models: models.models,
    candidates,
    ...(deadlineSeconds !== undefined && { deadlineSeconds }),
  };
  if (idempotencyKey === undefined) {
    const created = await createJob(deps, input);
    return { ...executeAnswer(created.jobId, created.estimate), replayed: false };
  }

  // The request is what it asks for, not how it was encoded (a multipart boundary differs per send).
  const fields = [...form.fields.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
  const lists = [...form.lists.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([name, values]) => [name, ...values]);
  const hash = requestHash(["POST /workflows/execute", ...fields, ...lists, ...(file ? [file.filename, file.data] : [])]);
  const jobId = randomUUID();
  const estimate = estimateJob(workflow, deps.providers, candidates.steps, models.models);
  const answer = executeAnswer(jobId, estimate);
  const budget = await budgetGuard(deps, userId);
  const now = new Date();
  const stored = await withinBudget(() =>
    deps.store.insertIdempotentJob(
      { ...jobRows(deps, input, estimate), ...(budget && { budget }), id: jobId },
      { userId, key: idempotencyKey, requestHash: hash, jobId, response: answer, now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) },
    ),
  );
  if ("existing" in stored) return replayOf(stored.existing, hash);
  await deps.driver.enqueue(jobId, userId);
  return { ...answer, replayed: false };
}

/**
 * The file a workflow takes, checked against what it declares: in the field its image input names
 * (`file` by default), required when it has an upload step or a required image input, and refused
 * for a workflow that takes no file at all.
 */
function checkUploadField(workflow: Workflow, file: MultipartFile | undefined): MultipartFile | undefined {
  const upload = uploadOf(workflow);
  if (!upload) {
    if (file) throw new ApiError("invalid_form", `The workflow ${workflow.config.id} takes no file; send only its fields.`);
    return undefined;
  }
  if (file && file.field !== upload.field) throw new ApiError("invalid_form", `Attach the image as the form field \`${upload.field}\`.`);
  if (!file && upload.required) throw new ApiError("invalid_form", `Attach the image as the form field \`${upload.field}\`.`);
  return file;
}

function executeAnswer(jobId: string, estimate: WorkflowEstimate) {
  return { status: 202, body: { success: true, job_id: jobId, stream_url: `/jobs/${jobId}/stream`, estimated_cost_usd: toUsd(estimate.micros) } };
}

/**
 * The steps the job stops before until a person approves: those config.json marks `"approval":
 * true`, and those the caller names with approve_before (repeatable). The first step cannot wait:
 * nothing has run yet to approve.
 */
export function approvalStepsOf(workflow: Workflow, requested: string[]): number[] {
  const steps = workflow.config.steps;
  const indexes = new Set(steps.flatMap((step, index) => (step.approval ? [index] : [])));
  for (const name of requested) {
    const index = steps.findIndex((step) => step.name === name.trim());
    if (index < 0) throw new ApiError("invalid_form", `approve_before names no step of this workflow: ${JSON.stringify(name.slice(0, 64))}; its steps are ${steps.map((step) => step.name).join(", ")}.`);
    if (index === 0) throw new ApiError("invalid_form", `approve_before cannot name the first step (${steps[0]!.name}): there is nothing to approve before it.`);
    indexes.add(index);
  }
  return [...indexes].sort((a, b) => a - b);
}
