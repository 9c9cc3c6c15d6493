import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { rerunFromRequest } from "@/lib/jobs/rerun";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  rt.limits.requireExecuteAllowance(user.id);
  const { jobId, parentJobId } = await rerunFromRequest(rt, request, user.id, await jobIdFrom(context));
  return Response.json({ success: true, job_id: jobId, stream_url: `/jobs/${jobId}/stream`, parent_job_id: parentJobId }, { status: 202 });
});
