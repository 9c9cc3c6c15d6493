import { requireUser } from "@/lib/auth/require-user";
import { estimateFromRequest } from "@/lib/jobs/costs";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  await requireUser(rt, request);
  const { workflowId, estimate } = await estimateFromRequest(rt, request);
  return Response.json({ success: true, workflow_id: workflowId, estimate });
});
