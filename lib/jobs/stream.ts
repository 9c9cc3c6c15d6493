import "server-only";
import { ApiError } from "@/lib/api/errors";
import { StreamHub, type StreamHubDeps, type StreamSink } from "@/lib/jobs/stream-hub";

/**
 * GET /jobs/<id>/stream: a job's event log as SSE. Each stream replays what its client missed
 * (after Last-Event-ID), then follows the job live through the runtime's StreamHub
 * (lib/jobs/stream-hub.ts): one read and one encoding per event per job, shared by its watchers.
 * Events written in this process wake the hub at once (JobNotifier); events written by other
 * processes through lib/jobs/wakeups.ts (LISTEN/NOTIFY on PostgreSQL, a shared tail otherwise).
 */

/** Parses Last-Event-ID: a non-negative event id, or nothing. Anything else is a 400. */
export function parseLastEventId(value: string | null): number {
  if (value === null || value.trim() === "") return 0;
  if (!/^\d{1,15}$/.test(value.trim())) throw new ApiError("invalid_request", "Last-Event-ID must be an event id (a non-negative integer).");
  return Number(value.trim());
}

export const SSE_HEADERS = {
  "Content-Type": "text/event-stream; charset=utf-8",
  "Cache-Control": "no-cache, no-transform",
  Connection: "keep-alive",
  "X-Accel-Buffering": "no",
} as const;

export type StreamDeps = StreamHubDeps;

/** The event streams of one runtime (lib/server/runtime.ts builds it). */
export class JobStreams {
  readonly hub: StreamHub;

  constructor(deps: StreamDeps) {
    this.hub = new StreamHub(deps);
  }

  /**
   * The stream as a web ReadableStream (the route handler's body). `onEnd` runs once when it stops
   * for any reason: the end of the job, an error, a client too slow to keep up, or the client leaving.
   */
  open(jobId: string, lastEventId: number, signal: AbortSignal, onEnd: () => void = () => undefined): ReadableStream<Uint8Array> {
    let detach: (() => void) | undefined;
    let drain: (() => void) | undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          let open = true;
          const sink: StreamSink = {
            write: (chunk) => {
              if (open) controller.enqueue(chunk);
            },
            // Bytes queued in this stream that the response has not read yet (the strategy counts bytes).
            buffered: () => (open ? Math.max(0, -(controller.desiredSize ?? 0)) : 0),
            drained: () => new Promise<void>((resolve) => (drain = resolve)),
            end: (reason) => {
              if (!open) return;
              open = false;
              drain?.();
              // A slow client gets an orderly end: EventSource reconnects with Last-Event-ID.
              if (reason === "error") controller.error(new Error("the job's events could not be read"));
              else controller.close();
            },
          };
          detach = this.hub.attach(jobId, lastEventId, sink, onEnd);
          const leave = () => {
            open = false;
            drain?.();
            detach?.();
          };
          if (signal.aborted) leave();
          else signal.addEventListener("abort", leave, { once: true });
        },
        pull: () => {
          const resolve = drain;
          drain = undefined;
          resolve?.();
        },
        cancel: () => {
          drain?.();
          detach?.();
        },
      },
      { highWaterMark: 0, size: (chunk) => chunk.byteLength },
    );
  }
}
