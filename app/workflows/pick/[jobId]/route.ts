import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { pickFromRequest } from "@/lib/jobs/pick";
import { jobToJson } from "@/lib/jobs/serialize";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const job = await pickFromRequest(rt, request, user.id, await jobIdFrom(context));
  return Response.json({ success: true, job: jobToJson(job), stream_url: `/jobs/${job.id}/stream` });
});
