import { handleErrors } from "@/lib/api/errors";
import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { acquireStreamSlot } from "@/lib/api/rate-limit";
import { requireUser } from "@/lib/auth/require-user";
import { getOwnJob } from "@/lib/jobs/service";
import { parseLastEventId, streamJobEvents } from "@/lib/jobs/stream";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const user = await requireUser(request);
  const job = await getOwnJob(user.id, await jobIdFrom(context));
  const lastEventId = parseLastEventId(request.headers.get("last-event-id") ?? new URL(request.url).searchParams.get("last_event_id"));
  const release = acquireStreamSlot(user.id);
  return new Response(streamJobEvents(job.id, lastEventId, request.signal, release), {
    headers: {
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-cache, no-transform",
      Connection: "keep-alive",
      "X-Accel-Buffering": "no",
    },
  });
});
