import "server-only";
import { isTerminalStatus } from "@/lib/contract/events";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { CrossProcessWakeups } from "@/lib/jobs/wakeups";
import type { Logger } from "@/lib/log";
import type { Store, StoredEvent } from "@/lib/store/types";

/**
 * The live side of the event streams: one channel per followed job, shared by all its watchers.
 * A channel reads the job's new events once per wake-up, encodes each event once, and writes the
 * same bytes to every watcher that is caught up. One timer for the whole hub sends heartbeats and
 * runs the safety re-read; a watcher has no timer, no read loop and no promise of its own while
 * it waits. A watcher whose client does not take what it is sent (more than maxBufferedBytes
 * waiting) is dropped: its stream ends, and the client reconnects with Last-Event-ID and replays
 * from the log. One hub per runtime (lib/server/runtime.ts builds it).
 */
export const HEARTBEAT_MS = 15_000;
export const SAFETY_POLL_MS = 10_000;
const TICK_MS = 1000;
const BATCH = 200;
/** A replay pauses for the client once this much waits in its connection. */
const REPLAY_PAUSE_BYTES = 64 * 1024;

/** Where a watcher's bytes go: a Node response or a web stream (lib/jobs/stream.ts). */
export interface StreamSink {
  write(chunk: Uint8Array): void;
  /** Bytes written that the client has not taken yet. */
  buffered(): number;
  /** Resolves once the client has taken what was written (or the stream is gone). */
  drained(): Promise<void>;
  /** "done": the job ended and every event was sent. "slow": dropped for falling behind. "error": a read failed. */
  end(reason: "done" | "slow" | "error"): void;
}

export interface StreamHubDeps {
  store: Store;
  notifier: JobNotifier;
  wakeups: CrossProcessWakeups;
  logger?: Logger;
  /** A watcher with more than this waiting to be sent is dropped (default 1 MiB). */
  maxBufferedBytes?: number;
}

const encoder = new TextEncoder();
const HEARTBEAT = encoder.encode(": heartbeat\n\n");

/** One SSE event, as the contract frames it. */
export function encodeEvent(event: StoredEvent): Uint8Array {
  // An SSE data line ends at a newline: JSON stored with line breaks (not Montage's own) is compacted.
  const json = event.json.includes("\n") ? JSON.stringify(JSON.parse(event.json)) : event.json;
  return encoder.encode(`id: ${event.id}\nevent: ${event.type}\ndata: ${json}\n\n`);
}

class Watcher {
  live = false;
  closed = false;
  lastWrite = Date.now();
  constructor(
    public cursor: number,
    readonly sink: StreamSink,
    readonly onEnd: () => void,
  ) {}
}

class Channel {
  /** The id of the latest event this channel has delivered (or the first watcher's starting point). */
  cursor: number;
  readonly watchers = new Set<Watcher>();
  reading = false;
  again = false;
  ended = false;
  lastReadAt = 0;
  stop: () => void = () => undefined;
  constructor(
    readonly jobId: string,
    cursor: number,
  ) {
    this.cursor = cursor;
  }
}

export class StreamHub {
  private readonly channels = new Map<string, Channel>();
  private timer: NodeJS.Timeout | undefined;
  private readonly maxBufferedBytes: number;

  constructor(private readonly deps: StreamHubDeps) {
    this.maxBufferedBytes = deps.maxBufferedBytes ?? 1024 * 1024;
  }

  /** Open watchers, for tests and operators. */
  watcherCount(): number {
    let count = 0;
    for (const channel of this.channels.values()) count += channel.watchers.size;
    return count;
  }

  /**
   * Streams a job's events after `lastEventId` into `sink`: the ones the client missed (its own
   * replay), then the job's live events, until the job has ended and every event is sent.
   * `onEnd` runs once when it stops for any reason. The returned function detaches (the client left).
   */
  attach(jobId: string, lastEventId: number, sink: StreamSink, onEnd: () => void = () => undefined): () => void {
    let channel = this.channels.get(jobId);
    const watcher = new Watcher(lastEventId, sink, onEnd);
    sink.write(encoder.encode(`retry: 2000\n: connected to job ${jobId}\n\n`));
    if (!channel) {
      channel = this.openChannel(jobId, lastEventId);
      watcher.live = true;
      channel.watchers.add(watcher);
      this.wake(channel);
    } else {
      channel.watchers.add(watcher);
      void this.catchUp(channel, watcher);
    }
    return () => this.finish(channel, watcher);
  }

  private openChannel(jobId: string, cursor: number): Channel {
    const channel = new Channel(jobId, cursor);
    this.channels.set(jobId, channel);
    const stopFollowing = this.deps.wakeups.follow(jobId);
    const stopListening = this.deps.notifier.subscribe(jobId, () => this.wake(channel));
    channel.stop = () => {
      stopListening();
      stopFollowing();
    };
    if (!this.timer) {
      this.timer = setInterval(() => this.tick(), TICK_MS);
      this.timer.unref();
    }
    return channel;
  }

  private closeChannel(channel: Channel): void {
    if (this.channels.get(channel.jobId) === channel) this.channels.delete(channel.jobId);
    channel.stop();
    channel.stop = () => undefined;
    if (this.channels.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Ends one watcher (once), and the channel with its last watcher. */
  private finish(channel: Channel, watcher: Watcher, reason?: "done" | "slow" | "error"): void {
    if (watcher.closed) return;
    watcher.closed = true;
    channel.watchers.delete(watcher);
    if (reason) watcher.sink.end(reason);
    watcher.onEnd();
    if (channel.watchers.size === 0) this.closeChannel(channel);
  }

  private send(channel: Channel, watcher: Watcher, bytes: Uint8Array): boolean {
    if (watcher.sink.buffered() > this.maxBufferedBytes) {
      this.deps.logger?.info("event stream dropped: the client fell behind", { job_id: channel.jobId });
      this.finish(channel, watcher, "slow");
      return false;
    }
    watcher.sink.write(bytes);
    watcher.lastWrite = Date.now();
    return true;
  }

  /** A notification, the safety poll or a new channel: read now, or once more after the read in flight. */
  private wake(channel: Channel): void {
    if (channel.ended) return;
    if (channel.reading) {
      channel.again = true;
      return;
    }
    channel.reading = true;
    void this.pump(channel);
  }

  /** Reads until nothing new is waiting; `reading` is cleared in the same turn as the last check of `again`. */
  private async pump(channel: Channel): Promise<void> {
    const { store } = this.deps;
    try {
      do {
        channel.again = false;
        channel.lastReadAt = Date.now();
        const events = await store.readEvents(channel.jobId, channel.cursor, BATCH);
        this.deliver(channel, events);
        if (events.length === BATCH) {
          channel.again = true;
          continue;
        }
        // A job ends with a complete or error event: after other events it is still going, so the
        // status (a second query) is only read after none or those.
        if (events.length > 0 && !events.some((event) => event.type === "complete" || event.type === "error")) continue;
        const status = (await store.readJobState(channel.jobId))?.status;
        if (status !== undefined && !isTerminalStatus(status)) continue;
        // Events written between the read above and the status are delivered before the end.
        const tail = await store.readEvents(channel.jobId, channel.cursor, BATCH);
        if (tail.length > 0) {
          this.deliver(channel, tail);
          channel.again = true;
          continue;
        }
        channel.ended = true;
        this.closeChannel(channel);
        for (const watcher of [...channel.watchers]) if (watcher.live) this.finish(channel, watcher, "done");
        return;
      } while (channel.again && channel.watchers.size > 0);
    } catch (error) {
      this.deps.logger?.warn("could not read a job's events for its streams", { job_id: channel.jobId, err: error });
      channel.ended = true;
      this.closeChannel(channel);
      for (const watcher of [...channel.watchers]) this.finish(channel, watcher, "error");
    } finally {
      channel.reading = false;
    }
  }

  /** Encodes a read once and writes it to every caught-up watcher: one chunk when they are all at the channel's cursor. */
  private deliver(channel: Channel, events: StoredEvent[]): void {
    if (events.length === 0) return;
    const from = channel.cursor;
    const encoded = events.map(encodeEvent);
    const all = encoded.length === 1 ? encoded[0]! : Buffer.concat(encoded);
    channel.cursor = events.at(-1)!.id;
    for (const watcher of [...channel.watchers]) {
      if (!watcher.live || watcher.cursor >= channel.cursor) continue;
      if (watcher.cursor <= from) {
        if (this.send(channel, watcher, all)) watcher.cursor = channel.cursor;
        continue;
      }
      // Rare: this watcher's replay already went past the channel's cursor.
      for (let i = 0; i < events.length; i++) {
        if (events[i]!.id <= watcher.cursor) continue;
        if (!this.send(channel, watcher, encoded[i]!)) break;
        watcher.cursor = events[i]!.id;
      }
    }
  }

  /**
   * A watcher that joins a followed job replays what it missed from the log at its own pace, then
   * joins the live writes. The switch happens with no await between the check and the join: every
   * event the channel delivers from then on has a larger id than the watcher's cursor.
   */
  private async catchUp(channel: Channel, watcher: Watcher): Promise<void> {
    try {
      for (;;) {
        if (watcher.closed) return;
        if (watcher.cursor >= channel.cursor) {
          if (channel.ended) this.finish(channel, watcher, "done");
          else watcher.live = true;
          return;
        }
        const target = channel.cursor;
        if (watcher.sink.buffered() > REPLAY_PAUSE_BYTES) await watcher.sink.drained();
        const events = await this.deps.store.readEvents(channel.jobId, watcher.cursor, BATCH);
        for (const event of events) {
          if (watcher.closed || event.id <= watcher.cursor) continue;
          if (!this.send(channel, watcher, encodeEvent(event))) return;
          watcher.cursor = event.id;
        }
        // The log has nothing up to the channel's cursor: its first watcher asked for events after an
        // id this job has not reached (a made-up Last-Event-ID), so there is nothing between to send.
        if (events.length < BATCH && watcher.cursor < target) watcher.cursor = target;
      }
    } catch (error) {
      this.deps.logger?.warn("could not replay a job's events for a stream", { job_id: channel.jobId, err: error });
      this.finish(channel, watcher, "error");
    }
  }

  /** The one timer: heartbeats for quiet watchers, and the safety re-read of quiet channels. */
  private tick(): void {
    const now = Date.now();
    for (const channel of [...this.channels.values()]) {
      if (!channel.reading && now - channel.lastReadAt >= SAFETY_POLL_MS) this.wake(channel);
      for (const watcher of [...channel.watchers]) {
        if (now - watcher.lastWrite >= HEARTBEAT_MS) this.send(channel, watcher, HEARTBEAT);
      }
    }
  }
}
