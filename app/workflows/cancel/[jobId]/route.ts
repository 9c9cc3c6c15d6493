import { handleErrors } from "@/lib/api/errors";
import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { cancelJob } from "@/lib/jobs/service";
import { jobToJson } from "@/lib/jobs/serialize";

export const dynamic = "force-dynamic";

export const POST = handleErrors(async (request: Request, context: JobRouteContext) => {
  const user = await requireUser(request);
  const job = await cancelJob(user.id, await jobIdFrom(context));
  return Response.json({ success: true, job: jobToJson(job), stream_url: `/jobs/${job.id}/stream` });
});
