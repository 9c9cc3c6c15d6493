import { requireUser } from "@/lib/auth/require-user";
import { bulkActionFromRequest } from "@/lib/jobs/bulk-request";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json(await bulkActionFromRequest(rt, user.id, "retry", request));
});
