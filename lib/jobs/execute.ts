import "server-only";
import { ApiError } from "@/lib/api/errors";
import { checkImage } from "@/lib/api/image-check";
import { parseMultipart } from "@/lib/api/multipart";
import { createJob, type CreatedJob, type JobsDeps } from "@/lib/jobs/service";
import type { Workflow } from "@/lib/workflows/definition";
import { resolveInputs } from "@/lib/workflows/public";

/**
 * POST /workflows/execute: reads the multipart form while it streams, checks the workflow, the
 * inputs and the image (by content), and only then stores anything.
 */
export async function executeFromRequest(deps: Pick<JobsDeps, "config" | "store" | "driver" | "findWorkflow" | "providers">, request: Request, userId: string): Promise<CreatedJob> {
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
  const { inputs, problems } = resolveInputs(workflow, form.fields);
  if (problems.length > 0) throw new ApiError("invalid_form", problems.join(" "));
  const approvalSteps = approvalStepsOf(workflow, form.lists.get("approve_before") ?? []);
  const image = await checkImage(form.file.data, cfg.MAX_IMAGE_PIXELS);
  return createJob(deps, {
    userId,
    workflow,
    inputs,
    upload: { filename: form.file.filename, contentType: image.contentType, data: form.file.data, width: image.width, height: image.height },
    approvalSteps,
  });
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
