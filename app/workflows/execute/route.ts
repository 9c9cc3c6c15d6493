import { requireUser } from "@/lib/auth/require-user";
import { executeFromRequest } from "@/lib/jobs/execute";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  rt.limits.requireExecuteAllowance(user.id);
  const release = rt.limits.acquireUploadSlot(user.id);
  let jobId: string;
  try {
    jobId = await executeFromRequest(rt, request, user.id);
  } finally {
    release();
  }
  return Response.json({ success: true, job_id: jobId, stream_url: `/jobs/${jobId}/stream` }, { status: 202 });
});
