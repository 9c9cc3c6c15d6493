import "server-only";
import { ApiError } from "@/lib/api/errors";
import { checkImage } from "@/lib/api/image-check";
import { parseMultipart } from "@/lib/api/multipart";
import { createJob, type JobsDeps } from "@/lib/jobs/service";
import { resolveInputs } from "@/lib/workflows/public";

/**
 * POST /workflows/execute: reads the multipart form while it streams, checks the workflow, the
 * inputs and the image (by content), and only then stores anything.
 */
export async function executeFromRequest(deps: Pick<JobsDeps, "config" | "store" | "driver" | "findWorkflow">, request: Request, userId: string): Promise<string> {
  const cfg = deps.config;
  const form = await parseMultipart(request, {
    maxFileBytes: cfg.MAX_UPLOAD_BYTES,
    maxFields: 20,
    maxFieldBytes: 16 * 1024,
    deadlineMs: cfg.UPLOAD_BODY_TIMEOUT_SECONDS * 1000,
    spillThresholdBytes: cfg.UPLOAD_SPILL_THRESHOLD_BYTES,
  });
  const workflowId = form.fields.get("workflow_id")?.trim();
  if (!workflowId) throw new ApiError("invalid_form", "workflow_id is required.");
  const workflow = deps.findWorkflow(workflowId);
  if (!workflow) throw new ApiError("not_found", `No workflow with id ${JSON.stringify(workflowId.slice(0, 64))}. See GET /workflows/list.`);
  if (!form.file || form.file.field !== "file") throw new ApiError("invalid_form", "Attach the image as the form field `file`.");
  const { inputs, problems } = resolveInputs(workflow, form.fields);
  if (problems.length > 0) throw new ApiError("invalid_form", problems.join(" "));
  const image = await checkImage(form.file.data, cfg.MAX_IMAGE_PIXELS);
  return createJob(deps, {
    userId,
    workflow,
    inputs,
    upload: { filename: form.file.filename, contentType: image.contentType, data: form.file.data, width: image.width, height: image.height },
  });
}
