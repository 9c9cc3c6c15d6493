import { ApiError } from "@/lib/api/errors";
import { isTerminalStatus } from "@/lib/contract/events";
import { db, dialectOf, onPostgresPool, onSqliteConnection, sqliteStatement } from "@/lib/db/client";
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

/** An event as the stream sends it: its data is the stored JSON text, never parsed here. */
interface StreamEvent {
  id: number;
  type: string;
  json: string;
}

/** Subscribers of one job share the event objects of a read: each is encoded once. */
const formatted = new WeakMap<StreamEvent, Uint8Array>();
const encoder = new TextEncoder();
function encodeEvent(event: StreamEvent): Uint8Array {
  let bytes = formatted.get(event);
  if (!bytes) {
    // An SSE data line ends at a newline: JSON stored with line breaks (not Montage's own) is compacted.
    const json = event.json.includes("\n") ? JSON.stringify(JSON.parse(event.json)) : event.json;
    bytes = encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
    formatted.set(event, bytes);
  }
  return bytes;
}

/**
 * A job's events after `cursor`, oldest first. Every stream wake-up reads here, so on clients made
 * by createDb it is one prepared statement on the adapter's own connection that returns the
 * stored JSON as text (no Prisma query, no parse and re-serialize); otherwise Prisma's findMany.
 */
async function readEventRows(jobId: string, cursor: number): Promise<StreamEvent[]> {
  const database = db();
  const dialect = dialectOf(database);
  type Row = { id: number | bigint; type: string; json: string };
  const direct =
    dialect === "sqlite"
      ? onSqliteConnection(database, (connection) =>
          sqliteStatement(connection, "SELECT id, type, data AS json FROM job_events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?").all(jobId, cursor, BATCH) as Row[],
        )
      : dialect === "postgresql"
        ? onPostgresPool<Row>(database, "SELECT id, type, data::text AS json FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3", [jobId, cursor, BATCH])?.then((result) => result.rows)
        : undefined;
  if (direct) return (await direct).map((row) => ({ id: Number(row.id), type: row.type, json: row.json }));
  const rows = await database.jobEvent.findMany({ where: { jobId, id: { gt: cursor } }, orderBy: { id: "asc" }, take: BATCH });
  return rows.map((row) => ({ id: row.id, type: row.type, json: JSON.stringify(row.data) }));
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

const readEvents = (jobId: string, cursor: number, notBefore: number) => shared(`events:${jobId}:${cursor}`, notBefore, () => readEventRows(jobId, cursor));
const readStatus = (jobId: string, notBefore: number) =>
  shared(`status:${jobId}`, notBefore, () => db().job.findUnique({ where: { id: jobId }, select: { status: true } }));

/**
 * Streams a job's event log as SSE from after `lastEventId`: it replays exactly what the client
 * missed, then follows new events, and closes once the job has ended and every event is sent.
 * Reading the log (not in-memory state) makes it work across processes and reconnects. `onEnd`
 * runs once when it stops for any reason: the end of the job, an error, or the client leaving.
 */
export function streamJobEvents(jobId: string, lastEventId: number, signal: AbortSignal, onEnd: () => void = () => undefined): ReadableStream<Uint8Array> {
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
          // A job ends with a complete or error event: after other events it is still going, and
          // the status read (a second query per wake-up) is only needed after none or those.
          const mayHaveEnded = events.length === 0 || events.some((event) => event.type === "complete" || event.type === "error");
          if (!mayHaveEnded) {
            await watch.wait(Math.min(SAFETY_POLL_MS, HEARTBEAT_MS), stop.signal);
            continue;
          }
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
        onEnd();
      }
      controller.close();
    },
    cancel() {
      stop.abort();
    },
  });
}
