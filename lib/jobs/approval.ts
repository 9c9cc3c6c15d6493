import "server-only";
import { ApiError } from "@/lib/api/errors";
import { readJsonLimited } from "@/lib/api/body";
import { approveBodySchema } from "@/lib/api/schemas";
import { getOwnJob, type JobsDeps } from "@/lib/jobs/service";

const MAX_BODY_BYTES = 16 * 1024;

/**
 * POST /workflows/approve/<job_id>: approve (the job runs the step it waits before, no attempt
 * spent) or reject (the job is canceled with the comment as its reason). A compare-and-set on
 * awaiting_approval: of two decisions, or a decision and a cancel, exactly one applies; the other
 * is answered 409 and changes nothing.
 */
export async function decideFromRequest(deps: Pick<JobsDeps, "store" | "driver" | "notifier" | "findWorkflow">, request: Request, userId: string, jobId: string) {
  const job = await getOwnJob(deps.store, userId, jobId);
  const stepName = (index: number) => deps.findWorkflow(job.workflowId)?.config.steps[index]?.name ?? `step_${index}`;
  const body = approveBodySchema.safeParse(await readJson(request));
  if (!body.success) throw new ApiError("invalid_request", body.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  if (job.status !== "awaiting_approval") throw new ApiError("wrong_state", `The job is ${job.status}; only a job awaiting approval can be approved or rejected.`);
  const stepIndex = job.execution.currentStep;
  const { approve, comment } = body.data;
  const decided = approve
    ? await deps.store.decideApproval(jobId, {
        approve: true,
        stepIndex,
        event: { type: "progress", data: { step: stepIndex, step_name: stepName(stepIndex), progress: job.progress, step_progress: 0, message: comment ? `Approved: ${comment}` : "Approved" } },
      })
    : await deps.store.decideApproval(jobId, {
        approve: false,
        message: comment || "Rejected",
        event: { type: "error", data: { status: "canceled", code: "approval_rejected", error: comment || "Rejected", step: stepIndex, step_name: stepName(stepIndex) } },
      });
  if (!decided) throw new ApiError("wrong_state", "The job changed state meanwhile (decided or canceled); reload to see it.");
  deps.notifier.notify(jobId);
  if (approve) await deps.driver.resumeApproved(jobId, stepIndex);
  else await deps.driver.interrupt(jobId);
  return getOwnJob(deps.store, userId, jobId);
}

async function readJson(request: Request): Promise<unknown> {
  if (!(request.headers.get("content-type") ?? "").toLowerCase().startsWith("application/json")) {
    throw new ApiError("unsupported_media_type", "Send the decision as application/json: {\"approve\": true | false, \"comment\"?: \"...\"}.");
  }
  // Counted while it streams: a body past the limit is refused before more of it is held.
  return readJsonLimited(request, MAX_BODY_BYTES, "The body is not valid JSON.");
}
