import { ApiError, handleErrors } from "@/lib/api/errors";
import { listJobsQuerySchema } from "@/lib/api/schemas";
import { requireUser } from "@/lib/auth/require-user";
import { listOwnJobs } from "@/lib/jobs/service";
import { jobToJson } from "@/lib/jobs/serialize";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request) => {
  const user = await requireUser(request);
  const query = listJobsQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) throw new ApiError("invalid_request", query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const { jobs, nextCursor } = await listOwnJobs(user.id, query.data);
  return Response.json({ success: true, jobs: jobs.map(jobToJson), next_cursor: nextCursor });
});
