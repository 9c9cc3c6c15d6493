import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";
import { jobWebhooksOf } from "@/lib/webhooks/service";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json(await jobWebhooksOf(rt.store, user.id, await jobIdFrom(context)));
});
