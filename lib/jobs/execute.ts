import "server-only";
import { randomInt, randomUUID } from "node:crypto";
import { ApiError, isApiError } from "@/lib/api/errors";
import { checkImage, type CheckedImage } from "@/lib/api/image-check";
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
import { extraImageInputsOf, MAX_IMAGE_INPUTS, MAX_SEED } from "@/lib/workflows/inputs";
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
    // One file per image input the workflow declares (it is known only once the form is read).
    maxFiles: MAX_IMAGE_INPUTS,
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
  const files = checkUploadFields(workflow, form.files);
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
  const upload = files.upload && asUpload(files.upload, await checkImage(files.upload.data, cfg.MAX_IMAGE_PIXELS));
  const extraUploads = [];
  for (const extra of files.extras) extraUploads.push({ field: extra.field, ...asUpload(extra, await checkExtraImage(extra, cfg.MAX_IMAGE_PIXELS)) });
  const input: NewJob = {
    userId,
    workflow,
    inputs,
    ...(upload && { upload }),
    ...(extraUploads.length > 0 && { extraUploads }),
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
  const sentFiles = [...(files.upload ? [files.upload] : []), ...files.extras];
  // The job's upload hashes as it always did (filename, bytes); an extra image adds its field too.
  const hash = requestHash(["POST /workflows/execute", ...fields, ...lists, ...sentFiles.flatMap((file) => (file === files.upload ? [file.filename, file.data] : [file.field, file.filename, file.data]))]);
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
 * The files a workflow takes, checked against what it declares: the job's upload in the field its
 * first image input names (`file` by default), required when it has an upload step or that input
 * is required; each further image input's file in the field of its name, required when it is. A
 * file in any other field, or any file for a workflow that takes none, is refused.
 */
function checkUploadFields(workflow: Workflow, files: MultipartFile[]): { upload?: MultipartFile; extras: MultipartFile[] } {
  const upload = uploadOf(workflow);
  if (!upload) {
    if (files.length > 0) throw new ApiError("invalid_form", `The workflow ${workflow.config.id} takes no file; send only its fields.`);
    return { extras: [] };
  }
  const extraInputs = extraImageInputsOf(workflow.config.inputs);
  const fields = [upload.field, ...extraInputs.map((input) => input.name)];
  for (const file of files) {
    if (fields.includes(file.field)) continue;
    const field = `\`${file.field.slice(0, 64)}\``;
    if (extraInputs.length === 0) throw new ApiError("invalid_form", `The file field ${field} is not one this workflow takes; attach the image as the form field \`${upload.field}\`.`);
    throw new ApiError("invalid_form", `The file field ${field} is not one this workflow takes; its image fields are ${fields.map((name) => `\`${name}\``).join(", ")}.`);
  }
  const primary = files.find((file) => file.field === upload.field);
  if (!primary && upload.required) throw new ApiError("invalid_form", `Attach the image as the form field \`${upload.field}\`.`);
  const missing = extraInputs.filter((input) => input.required && !files.some((file) => file.field === input.name));
  if (missing.length > 0) throw new ApiError("invalid_form", missing.map((input) => `${input.name}: attach the image (${input.label}) as the form field \`${input.name}\`.`).join(" "));
  return { ...(primary && { upload: primary }), extras: files.filter((file) => file !== primary) };
}

/** An extra image is checked as the job's upload is (lib/api/image-check.ts); a refusal names its field. */
async function checkExtraImage(file: MultipartFile, maxPixels: number): Promise<CheckedImage> {
  try {
    return await checkImage(file.data, maxPixels);
  } catch (error) {
    if (isApiError(error)) throw new ApiError(error.code, `${file.field}: ${error.message}`, error.headers);
    throw error;
  }
}

function asUpload(file: MultipartFile, image: CheckedImage) {
  return { filename: file.filename, contentType: image.contentType, data: file.data, width: image.width, height: image.height };
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
