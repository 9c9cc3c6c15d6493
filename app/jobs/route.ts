import { ApiError } from "@/lib/api/errors";
import { listJobsQuerySchema } from "@/lib/api/schemas";
import { requireUser } from "@/lib/auth/require-user";
import { listOwnJobs } from "@/lib/jobs/service";
import { jobToJson } from "@/lib/jobs/serialize";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const query = listJobsQuerySchema.safeParse(Object.fromEntries(new URL(request.url).searchParams));
  if (!query.success) throw new ApiError("invalid_request", query.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  const { jobs, nextCursor } = await listOwnJobs(rt.store, user.id, query.data);
  return Response.json({ success: true, jobs: jobs.map(jobToJson), next_cursor: nextCursor });
});
