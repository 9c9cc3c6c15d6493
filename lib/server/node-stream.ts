import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ApiError, errorResponse } from "@/lib/api/errors";
import { jobIdSchema } from "@/lib/api/schemas";
import { requireUser } from "@/lib/auth/require-user";
import { getOwnJob } from "@/lib/jobs/service";
import { parseLastEventId, SSE_HEADERS } from "@/lib/jobs/stream";
import type { StreamSink } from "@/lib/jobs/stream-hub";
import { requestUrl, sendWebResponse, webHeaders } from "@/lib/server/node-web";
import type { Runtime } from "@/lib/server/runtime";

/**
 * GET /jobs/<id>/stream on plain Node HTTP, for the custom server in front of Next.js
 * (scripts/server.mjs; docs/decisions/2026-12-02-stream-on-node-http.md). The same steps as the
 * route handler (app/jobs/[jobId]/stream/route.ts), in the same order and with the same answers:
 * authenticate, the job id (404 when malformed or not the user's), Last-Event-ID, the per-user
 * stream slot; then the runtime's StreamHub writes to the Node response directly, with no web
 * Request, Response or ReadableStream held per connection.
 */
const STREAM_PATH = /^\/jobs\/([^/?#]+)\/stream(?:\?|$)/;

/** Serves the request when it is a stream request and returns true; false leaves it to Next.js. */
export function serveNodeStream(rt: Runtime, request: IncomingMessage, response: ServerResponse): boolean {
  if (request.method !== "GET") return false;
  const match = STREAM_PATH.exec(request.url ?? "");
  if (!match) return false;
  void openStream(rt, request, response, match[1]!);
  return true;
}

async function openStream(rt: Runtime, request: IncomingMessage, response: ServerResponse, rawJobId: string): Promise<void> {
  const url = requestUrl(request);
  try {
    // requireUser reads the Authorization and Cookie headers of a web Request: one short-lived object.
    const user = await requireUser(rt, new Request(url, { headers: webHeaders(request) }));
    const jobId = jobIdSchema.safeParse(safeDecode(rawJobId));
    if (!jobId.success) throw new ApiError("not_found", "No such job.");
    const job = await getOwnJob(rt.store, user.id, jobId.data);
    const header = request.headers["last-event-id"];
    const lastEventId = parseLastEventId((Array.isArray(header) ? header[0] : header) ?? url.searchParams.get("last_event_id"));
    const release = rt.limits.acquireStreamSlot(user.id);
    if (response.destroyed) return release();
    response.writeHead(200, SSE_HEADERS);
    const detach = rt.streams.hub.attach(job.id, lastEventId, nodeSink(response), release);
    response.once("close", detach);
  } catch (error) {
    await sendWebResponse(response, errorResponse(error, rt.logger, { method: "GET", path: url.pathname }));
  }
}

/**
 * A watcher's bytes go straight to the socket. A watcher dropped for falling behind (or a failed
 * read) loses its connection: the client reconnects with Last-Event-ID and replays from the log.
 */
function nodeSink(response: ServerResponse): StreamSink {
  return {
    write: (chunk) => void response.write(chunk),
    buffered: () => response.writableLength,
    drained: () =>
      new Promise<void>((resolve) => {
        if (response.destroyed || response.writableLength === 0) return resolve();
        response.once("drain", resolve);
        response.once("close", resolve);
      }),
    end: (reason) => {
      if (reason === "done") response.end();
      else response.destroy();
    },
  };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return "";
  }
}
