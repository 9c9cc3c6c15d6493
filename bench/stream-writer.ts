/**
 * The stream section's event writer, in a process of its own (bench/stream.ts forks one per
 * database), as a workflow's runner writes events from outside the server: its timers are not
 * starved by the subscribers' sockets, and it records each event's commit time (the moment its
 * insert returned) on the clock the client processes share (`performance.timeOrigin +
 * performance.now()`). Latency is measured from that time, so the database's own commit delay and
 * any queue in front of it are not counted as the server's.
 *
 * Each event's data carries `bench_seq`, a number unique in the run (not restarting between
 * measurements: a new subscriber replays a job's older events, which must not be taken for new ones).
 *
 * Messages (from the parent): start -> started; stop -> stopped (after the inserts in flight); close.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { postgresTime } from "@/lib/store/postgres/connection";
import { sqliteTime } from "@/lib/store/sqlite/connection";
import type { Provider } from "../tests/helpers/db";

export type WriterRequest =
  | { type: "start"; jobs: string[]; eventIntervalMs: number }
  | { type: "stop" }
  | { type: "close" };

export type WriterReply =
  | { type: "ready" }
  | { type: "started" }
  /** commits: [seq, job index, time the event was due, commit time] for every event since start. */
  | { type: "stopped"; commits: [number, number, number, number][]; failed: number };

const clock = () => performance.timeOrigin + performance.now();
const [provider, url] = process.argv.slice(2) as [Provider, string];

type Insert = (jobId: string, data: string, at: Date) => Promise<void> | void;

function openWriter(): { insert: Insert; close(): Promise<void> } {
  if (provider === "postgresql") {
    // A connection per job at most: each job's events commit in order (as one runner writes them),
    // different jobs' in parallel.
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    const tails = new Map<string, Promise<void>>();
    const insert: Insert = (jobId, data, at) => {
      const next = (tails.get(jobId) ?? Promise.resolve()).then(async () => {
        await pool.query({
          name: "bench-event",
          text: "INSERT INTO job_events (job_id, type, data, created_at) VALUES ($1, 'progress', $2::jsonb, $3::timestamp(3))",
          values: [jobId, data, postgresTime(at)],
        });
      });
      tails.set(jobId, next.catch(() => undefined));
      return next;
    };
    return { insert, close: () => pool.end() };
  }
  const writer = new Database(url, { timeout: 10_000 });
  writer.pragma("journal_mode = WAL");
  writer.pragma("synchronous = NORMAL");
  const statement = writer.prepare("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', ?, ?)");
  return { insert: (jobId, data, at) => void statement.run(jobId, data, sqliteTime(at)), close: async () => void writer.close() };
}

const writer = openWriter();
let seq = 0;
let timers: NodeJS.Timeout[] = [];
let commits: [number, number, number, number][] = [];
let pending = new Set<Promise<void>>();
let failed = 0;

function start(jobs: string[], eventIntervalMs: number): void {
  commits = [];
  failed = 0;
  // Steady event flow; each job's events are spread across the interval.
  timers = jobs.map((jobId, index) =>
    setTimeout(() => {
      const write = () => {
        const due = clock();
        const mine = ++seq;
        const data = JSON.stringify({ step: 0, step_name: "bench", progress: mine % 100, step_progress: mine % 100, bench_seq: mine });
        const committed = () => void commits.push([mine, index, due, clock()]);
        try {
          const done = writer.insert(jobId, data, new Date(due));
          if (!done) return committed();
          const tracked = done.then(committed, (error: unknown) => {
            failed++;
            process.stderr.write(`stream writer: an event insert failed: ${String(error)}\n`);
          });
          pending.add(tracked);
          void tracked.finally(() => pending.delete(tracked));
        } catch (error) {
          failed++;
          process.stderr.write(`stream writer: an event insert failed: ${String(error)}\n`);
        }
      };
      timers.push(setInterval(write, eventIntervalMs));
    }, (index * eventIntervalMs) / jobs.length),
  );
}

async function stop(): Promise<WriterReply> {
  for (const timer of timers) clearTimeout(timer);
  timers = [];
  await Promise.all(pending);
  pending = new Set();
  return { type: "stopped", commits, failed };
}

process.on("message", (raw) => {
  const message = raw as WriterRequest;
  if (message.type === "start") {
    start(message.jobs, message.eventIntervalMs);
    process.send!({ type: "started" } satisfies WriterReply);
  } else if (message.type === "stop") {
    void stop().then((reply) => process.send!(reply));
  } else {
    void writer.close().finally(() => process.disconnect());
  }
});
process.send!({ type: "ready" } satisfies WriterReply);
