import { inputFieldFrom, jobIdFrom, type JobInputRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { readOwnJobInput } from "@/lib/jobs/input-file";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobInputRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return readOwnJobInput(rt.store, user.id, await jobIdFrom(context), await inputFieldFrom(context));
});
