import { requireUser } from "@/lib/auth/require-user";
import { executeFromRequest } from "@/lib/jobs/execute";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";
import { toUsd } from "@/lib/workflows/pricing";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  rt.limits.requireExecuteAllowance(user.id);
  const release = rt.limits.acquireUploadSlot(user.id);
  let created: Awaited<ReturnType<typeof executeFromRequest>>;
  try {
    created = await executeFromRequest(rt, request, user.id);
  } finally {
    release();
  }
  const { jobId, estimate } = created;
  return Response.json({ success: true, job_id: jobId, stream_url: `/jobs/${jobId}/stream`, estimated_cost_usd: toUsd(estimate.micros) }, { status: 202 });
});
