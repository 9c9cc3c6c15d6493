import { ApiError } from "@/lib/api/errors";
import { isTerminalStatus } from "@/lib/contract/events";
import { db } from "@/lib/db/client";
import { watchJobEvents } from "@/lib/engine/notifier";
import { followOtherProcesses } from "@/lib/jobs/wakeups";

/**
 * Events written in this process wake a stream at once (lib/engine/notifier.ts); events written
 * by other processes wake it through lib/jobs/wakeups.ts (LISTEN/NOTIFY on PostgreSQL, a shared
 * tail of job_events otherwise). Each stream still re-reads on its own every SAFETY_POLL_MS.
 */
const SAFETY_POLL_MS = 10_000;
const HEARTBEAT_MS = 15_000;
const BATCH = 200;

/** Parses Last-Event-ID: a non-negative event id, or nothing. Anything else is a 400. */
export function parseLastEventId(value: string | null): number {
  if (value === null || value.trim() === "") return 0;
  if (!/^\d{1,15}$/.test(value.trim())) throw new ApiError("invalid_request", "Last-Event-ID must be an event id (a non-negative integer).");
  return Number(value.trim());
}

/** Subscribers of one job share the event objects of a read: each is serialized once. */
const formatted = new WeakMap<object, Uint8Array>();
const encoder = new TextEncoder();
function encodeEvent(event: { id: number; type: string; data: unknown }): Uint8Array {
  let bytes = formatted.get(event);
  if (!bytes) {
    bytes = encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`);
    formatted.set(event, bytes);
  }
  return bytes;
}

/**
 * Concurrent identical reads share one query: the subscribers of one job all wake on the same
 * notification with the same cursor, so N subscribers cost one read instead of N. A reader only
 * joins a read that started after it woke, so it never gets an answer older than its wake-up.
 */
const inFlight = new Map<string, { startedAt: number; promise: Promise<unknown> }>();
function shared<T>(key: string, notBefore: number, read: () => Promise<T>): Promise<T> {
  const pending = inFlight.get(key);
  if (pending && pending.startedAt >= notBefore) return pending.promise as Promise<T>;
  const entry = { startedAt: performance.now(), promise: undefined as unknown as Promise<T> };
  entry.promise = read().finally(() => {
    if (inFlight.get(key) === entry) inFlight.delete(key);
  });
  inFlight.set(key, entry);
  return entry.promise;
}

const readEvents = (jobId: string, cursor: number, notBefore: number) =>
  shared(`events:${jobId}:${cursor}`, notBefore, () =>
    db().jobEvent.findMany({ where: { jobId, id: { gt: cursor } }, orderBy: { id: "asc" }, take: BATCH }),
  );
const readStatus = (jobId: string, notBefore: number) =>
  shared(`status:${jobId}`, notBefore, () => db().job.findUnique({ where: { id: jobId }, select: { status: true } }));

/**
 * Streams a job's event log as SSE from after `lastEventId`: it replays exactly what the client
 * missed, then follows new events, and closes once the job has ended and every event is sent.
 * Reading the log (not in-memory state) makes it work across processes and reconnects.
 */
export function streamJobEvents(jobId: string, lastEventId: number, signal: AbortSignal): ReadableStream<Uint8Array> {
  let cursor = lastEventId;
  const stop = new AbortController();
  signal.addEventListener("abort", () => stop.abort(), { once: true });

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      const stopFollowing = followOtherProcesses(jobId);
      // Watching from before the first read: a notification between a read and the wait is kept.
      const watch = watchJobEvents(jobId);
      send(`retry: 2000\n: connected to job ${jobId}\n\n`);
      let lastWrite = Date.now();
      try {
        while (!stop.signal.aborted) {
          // Reads started after the latest notification are fresh enough to share.
          const wokeAt = watch.lastNotifiedAt;
          const events = await readEvents(jobId, cursor, wokeAt);
          for (const event of events) {
            controller.enqueue(encodeEvent(event));
            cursor = event.id;
            lastWrite = Date.now();
          }
          if (events.length === BATCH) continue;
          const job = await readStatus(jobId, wokeAt);
          // Events written between the read above and this status check are picked up by one more pass.
          if (!job || isTerminalStatus(job.status)) {
            const tailCount = await db().jobEvent.count({ where: { jobId, id: { gt: cursor } } });
            if (tailCount === 0) break;
            continue;
          }
          if (Date.now() - lastWrite >= HEARTBEAT_MS) {
            send(": heartbeat\n\n");
            lastWrite = Date.now();
          }
          await watch.wait(Math.min(SAFETY_POLL_MS, HEARTBEAT_MS), stop.signal);
        }
      } catch (error) {
        if (!stop.signal.aborted) controller.error(error);
        return;
      } finally {
        watch.close();
        stopFollowing();
      }
      controller.close();
    },
    cancel() {
      stop.abort();
    },
  });
}
