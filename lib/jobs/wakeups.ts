import "server-only";
import { newLeaseOwner } from "@/lib/engine/lease";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { Logger } from "@/lib/log";
import type { EventListenerConnection, Store } from "@/lib/store/types";

/**
 * Wake-ups for job events written by other processes (another server, an Inngest worker), for
 * the streams open in this one; events written here wake streams directly (JobNotifier).
 *
 * On PostgreSQL a trigger on job_events notifies with the job id as each transaction commits
 * (migration 20261126120000_job_event_watchers), and one connection per process LISTENs while any
 * stream is open (store.watchers): an event reaches its streams about a millisecond after its
 * commit, with no query while nothing happens. The trigger only notifies for jobs with a live row
 * in job_event_watchers, which each process keeps for the jobs it follows: a NOTIFY makes commits
 * wait for each other, and unwatched runs should not pay for it. Until that connection listens
 * (at first, or after losing it, e.g. a database restart) and always on SQLite, one shared tail
 * reads job_events after the last id it saw every TAIL_MS and wakes the jobs it finds.
 *
 * Every switch to a mode wakes all open streams once, so nothing committed during the switch is
 * missed: each stream re-reads from its own cursor. One per runtime (lib/server/runtime.ts).
 */
const TAIL_MS = 25;
const TAIL_BATCH = 1000;
const RELISTEN_MS = 1000;
const LATE_WAKE_MS = 1000;
/** The listening connection is checked this often, so a silently dropped one is noticed. */
const LISTENER_PING_MS = 30_000;
/** Watcher rows live WATCH_TTL_S and are refreshed every WATCH_REFRESH_MS while followed. */
const WATCH_TTL_S = 180;
const WATCH_REFRESH_MS = 60_000;

export type WakeupMode = "off" | "tail" | "listen";

interface FollowedJob {
  followers: number;
  /** The job's queue of watcher-row writes, kept in order. */
  writes: Promise<void>;
}

export class CrossProcessWakeups {
  private followers = 0;
  private readonly jobs = new Map<string, FollowedJob>();
  private readonly processId = newLeaseOwner();
  private refreshTimer: NodeJS.Timeout | undefined;
  private readonly tail = { cursor: -1, timer: undefined as NodeJS.Timeout | undefined, busy: false };
  private listener: Promise<EventListenerConnection | undefined> | undefined;
  private listening = false;
  private pingTimer: NodeJS.Timeout | undefined;
  private relistenTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly notifier: JobNotifier,
    private readonly logger: Logger,
  ) {}

  /** How this process learns of other processes' events right now (for tests and operators). */
  mode(): WakeupMode {
    if (this.listening) return "listen";
    return this.tail.timer ? "tail" : "off";
  }

  /** Follows other processes' events for a job while the returned function has not been called. */
  follow(jobId: string): () => void {
    const watchers = this.store.watchers;
    if (this.followers++ === 0) {
      this.startTail();
      if (watchers) {
        this.listen();
        this.refreshTimer = setInterval(() => void this.refreshWatchers(), WATCH_REFRESH_MS);
        this.refreshTimer.unref();
      }
    }
    const job = this.jobs.get(jobId) ?? { followers: 0, writes: Promise.resolve() };
    this.jobs.set(jobId, job);
    if (job.followers++ === 0 && watchers) this.writeWatcher(jobId, job);
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      if (--job.followers === 0) {
        if (watchers) this.writeWatcher(jobId, job);
        else this.jobs.delete(jobId);
      }
      if (--this.followers > 0) return;
      this.stopTail();
      clearTimeout(this.relistenTimer);
      clearInterval(this.refreshTimer);
      clearInterval(this.pingTimer);
      const listener = this.listener;
      this.listener = undefined;
      this.listening = false;
      void listener?.then((connection) => connection?.close());
    };
  }

  /**
   * Brings the job's watcher row in line with its followers here (present while followed, gone
   * after), one write at a time per job so that a quick close and reopen cannot land out of order:
   * the job's entry (and its queue) stays in the map until its last queued write is done.
   * Once the row is in, the job's streams read once more, and once more after LATE_WAKE_MS: a
   * transaction that inserted an event before the trigger could see the row sent no NOTIFY, and
   * may commit a moment after the first read.
   */
  private writeWatcher(jobId: string, job: FollowedJob): void {
    const watchers = this.store.watchers!;
    const write: Promise<void> = job.writes.then(async () => {
      try {
        if (job.followers > 0) {
          await watchers.watch(jobId, this.processId, WATCH_TTL_S);
          this.notifier.notify(jobId);
          setTimeout(() => this.notifier.notify(jobId), LATE_WAKE_MS).unref();
        } else {
          await watchers.unwatch(jobId, this.processId);
        }
      } catch (error) {
        // The stream still works (tail fallback, safety poll); a missing row only costs the NOTIFY.
        this.logger.warn("could not update a job event watcher", { job_id: jobId, err: error });
      }
      if (job.followers === 0 && job.writes === write && this.jobs.get(jobId) === job) this.jobs.delete(jobId);
    });
    job.writes = write;
  }

  /**
   * Keeps this process's watcher rows alive (and puts back any that went missing), and deletes the
   * rows that processes which died left behind; runs every WATCH_REFRESH_MS.
   */
  async refreshWatchers(): Promise<void> {
    const watchers = this.store.watchers;
    if (!watchers) return;
    await watchers.deleteExpired().catch((error: unknown) => this.logger.warn("could not delete expired job event watchers", { err: error }));
    const followed = [...this.jobs].filter(([, job]) => job.followers > 0).map(([jobId]) => jobId);
    await watchers.refresh(followed, this.processId, WATCH_TTL_S).catch((error: unknown) => this.logger.warn("could not refresh the job event watchers", { err: error }));
  }

  private startTail(): void {
    if (this.tail.timer) return;
    this.tail.cursor = -1;
    void this.readTail();
    this.tail.timer = setInterval(() => void this.readTail(), TAIL_MS);
    this.tail.timer.unref();
  }

  private stopTail(): void {
    clearInterval(this.tail.timer);
    this.tail.timer = undefined;
  }

  private async readTail(): Promise<void> {
    const tail = this.tail;
    if (tail.busy) return;
    tail.busy = true;
    try {
      if (tail.cursor < 0) {
        tail.cursor = await this.store.latestEventId();
        // From here on the tail sees every new event; anything older is each stream's own read.
        this.notifier.notifyWatched();
        return;
      }
      const rows = await this.store.eventsSince(tail.cursor, TAIL_BATCH);
      if (rows.length === 0) return;
      tail.cursor = rows.at(-1)!.id;
      for (const jobId of new Set(rows.map((row) => row.jobId))) this.notifier.notify(jobId);
    } catch {
      // The database hiccuped: the next tick tries again, and streams still have their own poll.
    } finally {
      tail.busy = false;
    }
  }

  private listen(): void {
    const watchers = this.store.watchers!;
    let lostAlready = false;
    const attempt: Promise<EventListenerConnection | undefined> = watchers
      .listen(
        (jobId) => this.notifier.notify(jobId),
        (error) => {
          lostAlready = true;
          this.listenerLost(attempt, error);
        },
      )
      .catch(() => undefined);
    this.listener = attempt;
    void attempt.then((connection) => {
      if (!connection || lostAlready || this.listener !== attempt) {
        if (connection && this.listener !== attempt) void connection.close();
        return;
      }
      this.listening = true;
      this.stopTail();
      clearInterval(this.pingTimer);
      this.pingTimer = setInterval(() => void connection.ping().catch((error: unknown) => this.listenerLost(attempt, error)), LISTENER_PING_MS);
      this.pingTimer.unref();
      // Events committed before LISTEN took effect and after the tail's last read.
      this.notifier.notifyWatched();
    });
  }

  /** The listening connection failed or closed: poll until a new one listens. */
  private listenerLost(attempt: Promise<EventListenerConnection | undefined>, error?: unknown): void {
    if (this.listener !== attempt) return;
    this.listener = undefined;
    this.listening = false;
    clearInterval(this.pingTimer);
    void attempt.then((connection) => connection?.close());
    this.logger.warn("job events listener lost; polling job_events until it listens again", { err: error });
    this.startTail();
    clearTimeout(this.relistenTimer);
    this.relistenTimer = setTimeout(() => {
      if (this.followers > 0 && !this.listener) this.listen();
    }, RELISTEN_MS);
    this.relistenTimer.unref();
  }
}
