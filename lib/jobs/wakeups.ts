import pg from "pg";
import { config } from "@/lib/config";
import { db } from "@/lib/db/client";
import { newLeaseOwner } from "@/lib/engine/lease";
import { notifyJobEvents, notifyWatchedJobs } from "@/lib/engine/notifier";
import { log } from "@/lib/log";

/**
 * Wake-ups for job events written by other processes (another server, an Inngest worker), for
 * the streams open in this one; events written here wake streams directly (lib/engine/notifier.ts).
 *
 * On PostgreSQL a trigger on job_events notifies JOB_EVENTS_CHANNEL with the job id as each
 * transaction commits (migration 20261126120000_job_event_watchers), and one connection per
 * process LISTENs while any stream is open: an event reaches its streams about a millisecond
 * after its commit, with no query while nothing happens. The trigger only notifies for jobs with
 * a live row in job_event_watchers, which each process keeps for the jobs it follows: a NOTIFY
 * makes commits wait for each other, and unwatched runs should not pay for it. Until that
 * connection listens (at first, or after losing it, e.g. a database restart) and always on
 * SQLite, one shared tail reads job_events after the last id it saw every TAIL_MS and wakes the
 * jobs it finds.
 *
 * Every switch to a mode wakes all open streams once, so nothing committed during the switch is
 * missed: each stream re-reads from its own cursor.
 */
export const JOB_EVENTS_CHANNEL = "montage_job_events";
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

interface State {
  followers: number;
  /** Followers per job in this process, and each job's queue of watcher-row writes (kept in order). */
  jobs: Map<string, { followers: number; writes: Promise<void> }>;
  processId: string;
  refreshTimer: NodeJS.Timeout | undefined;
  tail: { cursor: number; timer: NodeJS.Timeout | undefined; busy: boolean };
  listener: pg.Client | undefined;
  listening: boolean;
  pingTimer: NodeJS.Timeout | undefined;
  relistenTimer: NodeJS.Timeout | undefined;
}
const state: State = { followers: 0, jobs: new Map(), processId: newLeaseOwner(), refreshTimer: undefined, tail: { cursor: -1, timer: undefined, busy: false }, listener: undefined, listening: false, pingTimer: undefined, relistenTimer: undefined };

/** How this process learns of other processes' events right now (for tests and operators). */
export function wakeupMode(): WakeupMode {
  if (state.listening) return "listen";
  return state.tail.timer ? "tail" : "off";
}

/** Follows other processes' events for a job while the returned function has not been called. */
export function followOtherProcesses(jobId: string): () => void {
  const postgres = config().database.provider === "postgresql";
  if (state.followers++ === 0) {
    startTail();
    if (postgres) {
      void listen();
      state.refreshTimer = setInterval(() => void refreshWatchers(), WATCH_REFRESH_MS);
      state.refreshTimer.unref();
    }
  }
  const job = state.jobs.get(jobId) ?? { followers: 0, writes: Promise.resolve() };
  state.jobs.set(jobId, job);
  if (job.followers++ === 0 && postgres) writeWatcher(jobId, job);
  let closed = false;
  return () => {
    if (closed) return;
    closed = true;
    if (--job.followers === 0) {
      if (postgres) writeWatcher(jobId, job);
      else state.jobs.delete(jobId);
    }
    if (--state.followers > 0) return;
    stopTail();
    clearTimeout(state.relistenTimer);
    clearInterval(state.refreshTimer);
    clearInterval(state.pingTimer);
    const listener = state.listener;
    state.listener = undefined;
    state.listening = false;
    void listener?.end().catch(() => undefined);
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
function writeWatcher(jobId: string, job: { followers: number; writes: Promise<void> }): void {
  const write: Promise<void> = job.writes.then(async () => {
    try {
      if (job.followers > 0) {
        await db().$executeRawUnsafe(
          `INSERT INTO job_event_watchers (job_id, process_id, expires_at) VALUES ($1, $2, (now() AT TIME ZONE 'UTC') + make_interval(secs => $3))
           ON CONFLICT (job_id, process_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
          jobId,
          state.processId,
          WATCH_TTL_S,
        );
        notifyJobEvents(jobId);
        setTimeout(() => notifyJobEvents(jobId), LATE_WAKE_MS).unref();
      } else {
        await db().$executeRawUnsafe("DELETE FROM job_event_watchers WHERE job_id = $1 AND process_id = $2", jobId, state.processId);
      }
    } catch (error) {
      // The stream still works (tail fallback, safety poll); a missing row only costs the NOTIFY.
      log.warn("could not update a job event watcher", { job_id: jobId, error });
    }
    if (job.followers === 0 && job.writes === write && state.jobs.get(jobId) === job) state.jobs.delete(jobId);
  });
  job.writes = write;
}

/**
 * Keeps this process's watcher rows alive (and puts back any that went missing), and deletes the
 * rows that processes which died left behind; runs every WATCH_REFRESH_MS.
 */
export async function refreshWatchers(): Promise<void> {
  await db()
    .$executeRawUnsafe("DELETE FROM job_event_watchers WHERE expires_at < (now() AT TIME ZONE 'UTC') - interval '1 hour'")
    .catch((error: unknown) => log.warn("could not delete expired job event watchers", { error }));
  const followed = [...state.jobs].filter(([, job]) => job.followers > 0).map(([jobId]) => jobId);
  if (followed.length === 0) return;
  await db()
    .$executeRawUnsafe(
      `INSERT INTO job_event_watchers (job_id, process_id, expires_at)
       SELECT job_id, $2, (now() AT TIME ZONE 'UTC') + make_interval(secs => $3) FROM unnest($1::text[]) AS job_id
       ON CONFLICT (job_id, process_id) DO UPDATE SET expires_at = EXCLUDED.expires_at`,
      followed,
      state.processId,
      WATCH_TTL_S,
    )
    .catch((error: unknown) => log.warn("could not refresh the job event watchers", { error }));
}

function startTail(): void {
  if (state.tail.timer) return;
  state.tail.cursor = -1;
  void readTail();
  state.tail.timer = setInterval(() => void readTail(), TAIL_MS);
  state.tail.timer.unref();
}

function stopTail(): void {
  clearInterval(state.tail.timer);
  state.tail.timer = undefined;
}

async function readTail(): Promise<void> {
  const tail = state.tail;
  if (tail.busy) return;
  tail.busy = true;
  try {
    if (tail.cursor < 0) {
      const last = await db().jobEvent.findFirst({ orderBy: { id: "desc" }, select: { id: true } });
      tail.cursor = last?.id ?? 0;
      // From here on the tail sees every new event; anything older is each stream's own read.
      notifyWatchedJobs();
      return;
    }
    const rows = await db().jobEvent.findMany({
      where: { id: { gt: tail.cursor } },
      select: { id: true, jobId: true },
      orderBy: { id: "asc" },
      take: TAIL_BATCH,
    });
    if (rows.length === 0) return;
    tail.cursor = rows.at(-1)!.id;
    for (const jobId of new Set(rows.map((row) => row.jobId))) notifyJobEvents(jobId);
  } catch {
    // The database hiccuped: the next tick tries again, and streams still have their own poll.
  } finally {
    tail.busy = false;
  }
}

async function listen(): Promise<void> {
  // TCP keep-alive and a periodic ping with a timeout: a connection dropped silently (a NAT or
  // firewall forgetting it) raises no error by itself, and streams would wait for their safety poll.
  const client = new pg.Client({ connectionString: config().database.url, keepAlive: true, keepAliveInitialDelayMillis: 10_000, query_timeout: 10_000 });
  state.listener = client;
  client.on("notification", (message) => {
    if (message.payload) notifyJobEvents(message.payload);
  });
  // Without an error listener a dropped connection would crash the process.
  client.on("error", (error) => listenerLost(client, error));
  client.on("end", () => listenerLost(client));
  try {
    await client.connect();
    await client.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
  } catch (error) {
    listenerLost(client, error);
    return;
  }
  if (state.listener !== client) return; // the last stream closed meanwhile
  state.listening = true;
  stopTail();
  clearInterval(state.pingTimer);
  state.pingTimer = setInterval(() => void client.query("SELECT 1").catch((error: unknown) => listenerLost(client, error)), LISTENER_PING_MS);
  state.pingTimer.unref();
  // Events committed before LISTEN took effect and after the tail's last read.
  notifyWatchedJobs();
}

/** The listening connection failed or closed: poll until a new one listens. */
function listenerLost(client: pg.Client, error?: unknown): void {
  if (state.listener !== client) return;
  state.listener = undefined;
  state.listening = false;
  clearInterval(state.pingTimer);
  void client.end().catch(() => undefined);
  log.warn("job events listener lost; polling job_events until it listens again", { error });
  startTail();
  clearTimeout(state.relistenTimer);
  state.relistenTimer = setTimeout(() => {
    if (state.followers > 0 && !state.listener) void listen();
  }, RELISTEN_MS);
  state.relistenTimer.unref();
}
