import { requireUser } from "@/lib/auth/require-user";
import { executeFromRequest } from "@/lib/jobs/execute";
import { answerResponse, idempotencyKeyOf } from "@/lib/jobs/idempotency";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const idempotencyKey = idempotencyKeyOf(request);
  rt.limits.requireExecuteAllowance(user.id);
  // Uploads in flight are counted per user while the body streams in (lib/server/limits).
  const release = rt.limits.acquireUploadSlot(user.id);
  try {
    return answerResponse(await executeFromRequest(rt, request, user.id, idempotencyKey));
  } finally {
    release();
  }
});
