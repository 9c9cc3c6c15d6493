import "server-only";
import { randomUUID } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import { checkImage } from "@/lib/api/image-check";
import { parseMultipart } from "@/lib/api/multipart";
import { budgetGuard, withinBudget } from "@/lib/jobs/budget";
import { estimateJob } from "@/lib/jobs/costs";
import { deadlineSecondsOf, withoutDeadlineField } from "@/lib/jobs/deadline";
import { IDEMPOTENCY_TTL_MS, replayOf, requestHash, type Answer } from "@/lib/jobs/idempotency";
import { createJob, jobRows, type JobsDeps } from "@/lib/jobs/service";
import { webhookTargetOf, withoutWebhookFields } from "@/lib/webhooks/target";
import type { Workflow } from "@/lib/workflows/definition";
import { toUsd, type WorkflowEstimate } from "@/lib/workflows/pricing";
import { resolveInputs } from "@/lib/workflows/public";

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
  if (!form.file || form.file.field !== "file") throw new ApiError("invalid_form", "Attach the image as the form field `file`.");
  const webhook = webhookTargetOf(form.fields, cfg.OUTPUT_FETCH_ALLOW_INSECURE);
  const deadlineSeconds = deadlineSecondsOf(form.fields);
  const { inputs, problems } = resolveInputs(workflow, withoutDeadlineField(withoutWebhookFields(form.fields)));
  if (problems.length > 0) throw new ApiError("invalid_form", problems.join(" "));
  const approvalSteps = approvalStepsOf(workflow, form.lists.get("approve_before") ?? []);
  const image = await checkImage(form.file.data, cfg.MAX_IMAGE_PIXELS);
  const input = {
    userId,
    workflow,
    inputs,
    upload: { filename: form.file.filename, contentType: image.contentType, data: form.file.data, width: image.width, height: image.height },
    approvalSteps,
    webhook,
    ...(deadlineSeconds !== undefined && { deadlineSeconds }),
  };
  if (idempotencyKey === undefined) {
    const created = await createJob(deps, input);
    return { ...executeAnswer(created.jobId, created.estimate), replayed: false };
  }

  // The request is what it asks for, not how it was encoded (a multipart boundary differs per send).
  const fields = [...form.fields.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flat();
  const lists = [...form.lists.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).flatMap(([name, values]) => [name, ...values]);
  const hash = requestHash(["POST /workflows/execute", ...fields, ...lists, form.file.filename, form.file.data]);
  const jobId = randomUUID();
  const estimate = estimateJob(workflow, deps.providers);
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
