import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { getOwnJob } from "@/lib/jobs/service";
import { parseLastEventId, SSE_HEADERS } from "@/lib/jobs/stream";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const job = await getOwnJob(rt.store, user.id, await jobIdFrom(context));
  const lastEventId = parseLastEventId(request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("last_event_id"));
  const release = rt.limits.acquireStreamSlot(user.id);
  return new Response(rt.streams.open(job.id, lastEventId, request.signal, release), { headers: SSE_HEADERS });
});
