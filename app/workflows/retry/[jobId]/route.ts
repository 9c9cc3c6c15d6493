import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { answerResponse, idempotencyKeyOf } from "@/lib/jobs/idempotency";
import { retryJobOnce } from "@/lib/jobs/retry-once";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const jobId = await jobIdFrom(context);
  return answerResponse(await retryJobOnce(rt, user.id, jobId, idempotencyKeyOf(request)));
});
