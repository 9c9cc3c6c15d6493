import "server-only";
import { ApiError } from "@/lib/api/errors";
import { isTerminalStatus } from "@/lib/contract/events";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { CrossProcessWakeups } from "@/lib/jobs/wakeups";
import type { Store, StoredEvent } from "@/lib/store/types";

/**
 * Events written in this process wake a stream at once (JobNotifier); events written by other
 * processes wake it through lib/jobs/wakeups.ts (LISTEN/NOTIFY on PostgreSQL, a shared
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

/** Subscribers of one job share the event objects of a read: each is encoded once. */
const formatted = new WeakMap<StoredEvent, Uint8Array>();
const encoder = new TextEncoder();
function encodeEvent(event: StoredEvent): Uint8Array {
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
 * Concurrent identical reads share one query: the subscribers of one job all wake on the same
 * notification with the same cursor, so N subscribers cost one read instead of N. A reader only
 * joins a read that started after it woke, so it never gets an answer older than its wake-up.
 */
class SharedReads {
  private readonly inFlight = new Map<string, { startedAt: number; promise: Promise<unknown> }>();

  constructor(private readonly store: Store) {}

  events(jobId: string, cursor: number, notBefore: number): Promise<StoredEvent[]> {
    return this.shared(`events:${jobId}:${cursor}`, notBefore, () => this.store.readEvents(jobId, cursor, BATCH));
  }

  status(jobId: string, notBefore: number): Promise<string | undefined> {
    return this.shared(`status:${jobId}`, notBefore, async () => (await this.store.readJobState(jobId))?.status);
  }

  private shared<T>(key: string, notBefore: number, read: () => Promise<T>): Promise<T> {
    const pending = this.inFlight.get(key);
    if (pending && pending.startedAt >= notBefore) return pending.promise as Promise<T>;
    const entry = { startedAt: performance.now(), promise: undefined as unknown as Promise<T> };
    entry.promise = read().finally(() => {
      if (this.inFlight.get(key) === entry) this.inFlight.delete(key);
    });
    this.inFlight.set(key, entry);
    return entry.promise;
  }
}

/** What a stream needs: the store, the in-process notifier, and the wake-ups for other processes' events. */
export interface StreamDeps {
  store: Store;
  notifier: JobNotifier;
  wakeups: CrossProcessWakeups;
}

/** The event streams of one runtime (lib/server/runtime.ts): subscribers of one job wake together and share each read. */
export class JobStreams {
  private readonly reads: SharedReads;

  constructor(private readonly deps: StreamDeps) {
    this.reads = new SharedReads(deps.store);
  }

  open(jobId: string, lastEventId: number, signal: AbortSignal, onEnd: () => void = () => undefined): ReadableStream<Uint8Array> {
    return streamJobEvents(this.deps, this.reads, jobId, lastEventId, signal, onEnd);
  }
}

/**
 * Streams a job's event log as SSE from after `lastEventId`: it replays exactly what the client
 * missed, then follows new events, and closes once the job has ended and every event is sent.
 * Reading the log (not in-memory state) makes it work across processes and reconnects. `onEnd`
 * runs once when it stops for any reason: the end of the job, an error, or the client leaving.
 */
function streamJobEvents(deps: StreamDeps, reads: SharedReads, jobId: string, lastEventId: number, signal: AbortSignal, onEnd: () => void): ReadableStream<Uint8Array> {
  let cursor = lastEventId;
  const stop = new AbortController();
  signal.addEventListener("abort", () => stop.abort(), { once: true });

  return new ReadableStream<Uint8Array>({
    async start(controller) {
      const send = (text: string) => controller.enqueue(encoder.encode(text));
      const stopFollowing = deps.wakeups.follow(jobId);
      // Watching from before the first read: a notification between a read and the wait is kept.
      const watch = deps.notifier.watch(jobId);
      send(`retry: 2000\n: connected to job ${jobId}\n\n`);
      let lastWrite = Date.now();
      try {
        while (!stop.signal.aborted) {
          // Reads started after the latest notification are fresh enough to share.
          const wokeAt = watch.lastNotifiedAt;
          const events = await reads.events(jobId, cursor, wokeAt);
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
          const status = await reads.status(jobId, wokeAt);
          // Events written between the read above and this status check are picked up by one more pass.
          if (status === undefined || isTerminalStatus(status)) {
            const tail = await deps.store.readEvents(jobId, cursor, 1);
            if (tail.length === 0) break;
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
