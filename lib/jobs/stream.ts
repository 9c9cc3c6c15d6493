import { ApiError } from "@/lib/api/errors";
import { isTerminalStatus } from "@/lib/contract/events";
import { db } from "@/lib/db/client";
import { waitForJobEvents } from "@/lib/engine/notifier";

/** Cross-process events are picked up by polling at this pace; same-process ones wake the stream at once. */
const POLL_MS = 1000;
const HEARTBEAT_MS = 15_000;
const BATCH = 200;

/** Parses Last-Event-ID: a non-negative event id, or nothing. Anything else is a 400. */
export function parseLastEventId(value: string | null): number {
  if (value === null || value.trim() === "") return 0;
  if (!/^\d{1,15}$/.test(value.trim())) throw new ApiError("invalid_request", "Last-Event-ID must be an event id (a non-negative integer).");
  return Number(value.trim());
}

function formatEvent(id: number, type: string, data: unknown): string {
  return `id: ${id}\nevent: ${type}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Streams a job's event log as SSE from after `lastEventId`: it replays exactly what the client
 * missed, then follows new events, and closes once the job has ended and every event is sent.
 * Reading the log (not in-memory state) makes it work across processes and reconnects.
 */
export function streamJobEvents(jobId: string, lastEventId: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let cursor = lastEventId;
  const stop = new AbortController();
  signal.addEventListener("abort", () => stop.abort(), { once: true });

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      send(`retry: 2000\n: connected to job ${jobId}\n\n`);
      let lastWrite = Date.now();
      try {
        while (!stop.signal.aborted) {
          const events = await db().jobEvent.findMany({
            where: { jobId, id: { gt: cursor } },
            orderBy: { id: "asc" },
            take: BATCH,
          });
          for (const event of events) {
            send(formatEvent(event.id, event.type, event.data));
            cursor = event.id;
            lastWrite = Date.now();
          }
          if (events.length === BATCH) continue;
          const job = await db().job.findUnique({ where: { id: jobId }, select: { status: true } });
          // Events written between the read above and this status check are picked up by one more pass.
          if (!job || isTerminalStatus(job.status)) {
            const tail = await db().jobEvent.count({ where: { jobId, id: { gt: cursor } } });
            if (tail === 0) break;
            continue;
          }
          if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            send(": heartbeat\n\n");
            lastWrite = Date.now();
          }
          await waitForJobEvents(jobId, Math.min(POLL_MS, HEARTBEAT_MS), stop.signal);
        }
      } catch (error) {
        if (!stop.signal.aborted) controller.error(error);
        return;
      }
      controller.close();
    },
    cancel() {
      stop.abort();
    },
  });
}
