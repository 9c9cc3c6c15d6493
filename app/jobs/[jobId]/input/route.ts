import { handleErrors } from "@/lib/api/errors";
import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { readOwnJobInput } from "@/lib/jobs/input-file";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const user = await requireUser(request);
  return readOwnJobInput(user.id, await jobIdFrom(context));
});
