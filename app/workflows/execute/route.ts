import { handleErrors } from "@/lib/api/errors";
import { requireExecuteAllowance } from "@/lib/api/rate-limit";
import { requireUser } from "@/lib/auth/require-user";
import { executeFromRequest } from "@/lib/jobs/execute";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const user = await requireUser(request);
  requireExecuteAllowance(user.id);
  const jobId = await executeFromRequest(request, user.id);
  return Response.json({ success: true, job_id: jobId, stream_url: `/jobs/${jobId}/stream` }, { status: 202 });
});
