/**
 * Section 3: SSE fan-out. N subscribers spread over running jobs of several users on Montage's
 * server, on SQLite and on PostgreSQL, against the bare node:http SSE server
 * (bench/bare-sse-server.ts) reading the same database. Up to 1,000 subscribers watch 10 jobs
 * that get an event every 200 ms each; above that (the 10,000 level) there is a job per 100
 * subscribers with an event every second each, so that each level delivers about 10,000
 * events a second at most and the client (this process) is not what is measured.
 *
 * The events come from a writer outside both servers (this process, as a separate worker process
 * would write them), each carrying the time of its commit. Latency is receive time minus that
 * time. Memory per connection is the server's RSS (whole process group) with the subscribers
 * connected minus before, divided by N. CPU per delivered event is the server's user + system
 * time over the measured window divided by the events its subscribers received in it. A
 * connection the server closes during the window counts as dropped.
 */
import http from "node:http";
import os from "node:os";
import Database from "better-sqlite3";
import pg from "pg";
import { postgresTime } from "@/lib/store/postgres/connection";
import { sqliteTime } from "@/lib/store/sqlite/connection";
import { createTestDatabase, type Provider } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createApiToken } from "@/lib/auth/tokens";
import { createBenchUser, groupCpuMs, groupRssBytes, spawnTsx } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { streamRows } from "./stream-report";
import { sizes } from "./lib/sizes";
import { sleep, summarize, type Summary } from "./lib/stats";

const USERS = 10;
/** Jobs and the interval between each job's events at a subscriber level (see above). */
const levelShape = (subscribers: number) => (subscribers > 1000 ? { jobs: Math.ceil(subscribers / 100), eventIntervalMs: 1000 } : { jobs: 10, eventIntervalMs: 200 });
// Long enough that one stall of the server (a garbage-collection pause, a busy neighbour) does not
// decide the p99 on its own: in an 8 s window, one 60 ms stall held back about 1% of the events.
const MEASURE_MS = sizes.quick ? 3000 : 20_000;
const BARE_TAIL_MS = 25;
const PORTS = { next: sizes.portBase + 11, bare: sizes.portBase + 12 } as const;

/** Wall-clock milliseconds with sub-millisecond resolution: the writer and the subscribers share this process. */
const clock = () => performance.timeOrigin + performance.now();

export type MachineLoad = "quiet" | "busy";

export interface FanoutResult {
  load: MachineLoad;
  database: Provider;
  server: "montage" | "bare";
  subscribers: number;
  jobs: number;
  eventIntervalMs: number;
  connected: number;
  events: number;
  latency: Summary;
  rssPerConnectionKb: number;
  cpuMicrosPerEvent: number;
  dropped: number;
  errors: number;
  loadAverage: number[];
  /** Which round (BENCH_STREAM_ROUNDS) this measurement belongs to. */
  round: number;
  /** Events the writer committed in the window ÷ the events it was due to write (its timers fire late when this process is busy). */
  writerKeptUp: number;
  /** The writer's own delay, from an event's time (sent_at) to its commit, p99: latency includes it (PostgreSQL's inserts queue on one client; SQLite's are synchronous: 0). */
  writerLagP99: number;
}

interface Counters {
  errors: number;
  connected: number;
  dropped: number;
  delivered: number;
  recording: boolean;
  closing: boolean;
}

interface BenchJob {
  id: string;
  token: string;
}

interface Subscriber {
  request: http.ClientRequest;
}

/**
 * Opens N SSE connections (in batches) and records receive latency of events carrying sent_at.
 * The parse is as lean as a client can be (find "sent_at", read the number): at 10,000
 * subscribers this process receives as many events as the server sends.
 */
async function subscribe(base: string, jobs: BenchJob[], count: number, latencies: number[], counters: Counters) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const subscribers: Subscriber[] = [];
  const open = (job: BenchJob) =>
    new Promise<void>((resolve) => {
      const request = http.get(`${base}/jobs/${job.id}/stream`, { agent, headers: { authorization: `Bearer ${job.token}`, accept: "text/event-stream" } }, (response) => {
        if (response.statusCode !== 200) {
          counters.errors++;
          response.resume();
          resolve();
          return;
        }
        counters.connected++;
        resolve();
        let buffer = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) !== -1) {
            const at = buffer.indexOf('"sent_at":');
            const sentAt = at !== -1 && at < end ? Number.parseFloat(buffer.slice(at + 10, at + 40)) : Number.NaN;
            buffer = buffer.slice(end + 2);
            if (!counters.recording || Number.isNaN(sentAt)) continue;
            counters.delivered++;
            latencies.push(clock() - sentAt);
          }
        });
        response.on("close", () => {
          if (!counters.closing) counters.dropped++;
        });
        response.on("error", () => undefined);
      });
      request.on("error", () => {
        counters.errors++;
        resolve();
      });
      subscribers.push({ request });
    });
  for (let i = 0; i < count; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => open(jobs[(i + k) % jobs.length]!)));
  }
  return () => {
    counters.closing = true;
    for (const s of subscribers) s.request.destroy();
    agent.destroy();
  };
}

/** Inserts one progress event as another process would: its own connection, its own commit (resolved when committed). */
type InsertEvent = (jobId: string, data: string, at: Date) => Promise<void> | void;

async function measure(load: MachineLoad, database: Provider, server: FanoutResult["server"], base: string, pid: number, allJobs: BenchJob[], count: number, insert: InsertEvent, round: number): Promise<FanoutResult> {
  const { jobs: jobCount, eventIntervalMs } = levelShape(count);
  const jobs = allJobs.slice(0, jobCount);
  await sleep(500);
  const rssBefore = groupRssBytes(pid);
  const latencies: number[] = [];
  const counters: Counters = { errors: 0, connected: 0, dropped: 0, delivered: 0, recording: false, closing: false };
  const close = await subscribe(base, jobs, count, latencies, counters);
  await sleep(1500);
  let seq = 0;
  let committed = 0;
  const writerLags: number[] = [];
  // Steady event flow; each job's events are spread across the interval.
  const timers = jobs.map((job, index) =>
    setTimeout(() => {
      const timer = setInterval(() => {
        const now = clock();
        const done = insert(job.id, JSON.stringify({ step: 0, step_name: "bench", progress: seq % 100, step_progress: seq++ % 100, sent_at: now }), new Date(now));
        const count = () => {
          if (!counters.recording) return;
          committed++;
          writerLags.push(clock() - now);
        };
        if (done) void done.then(count);
        else count();
      }, eventIntervalMs);
      timers.push(timer);
    }, (index * eventIntervalMs) / jobs.length),
  );
  await sleep(1000); // warm-up: first reads, JIT
  const cpuBefore = groupCpuMs(pid);
  counters.recording = true;
  await sleep(MEASURE_MS);
  counters.recording = false;
  const cpuMs = groupCpuMs(pid) - cpuBefore;
  const rssDuring = groupRssBytes(pid);
  for (const timer of timers) clearInterval(timer);
  close();
  await sleep(500);
  return {
    load,
    database,
    server,
    subscribers: count,
    jobs: jobs.length,
    eventIntervalMs,
    connected: counters.connected,
    events: latencies.length,
    latency: summarize(latencies),
    rssPerConnectionKb: Math.round((rssDuring - rssBefore) / 1024 / Math.max(1, counters.connected)),
    cpuMicrosPerEvent: Math.round((cpuMs * 1000) / Math.max(1, counters.delivered)),
    dropped: counters.dropped,
    errors: counters.errors,
    loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
    round,
    writerKeptUp: Math.round((committed / ((jobs.length * MEASURE_MS) / eventIntervalMs)) * 100) / 100,
    writerLagP99: Math.round(summarize(writerLags).p99 * 10) / 10,
  };
}

/** One measurement on one line, logged as soon as it is made (a long run stopped early keeps them). */
const describe = (f: FanoutResult) =>
  `round ${f.round}: ${f.connected}/${f.subscribers} connected, ${f.dropped} dropped, ${f.errors} errors, writer kept up ${f.writerKeptUp}, writer lag p99 ${ms(f.writerLagP99)}: p50 ${ms(f.latency.p50)}, p99 ${ms(f.latency.p99)}, ${f.rssPerConnectionKb} KB per connection, ${f.cpuMicrosPerEvent} µs CPU per event, load average ${f.loadAverage.join("/")}`;

/** The writer outside both servers: a raw driver connection of its own. */
async function openWriter(testDb: { provider: Provider; url: string }): Promise<{ insert: InsertEvent; close(): Promise<void> }> {
  if (testDb.provider === "postgresql") {
    // A connection per job at most: each job's events commit in order (as one runner writes them),
    // different jobs' in parallel. One client for all jobs queued every insert behind the others, and
    // on a loaded machine the queue, not the servers, made the latency (issue 18's busy run).
    const pool = new pg.Pool({ connectionString: testDb.url, max: 10 });
    const tails = new Map<string, Promise<void>>();
    const insert: InsertEvent = (jobId, data, at) => {
      const next = (tails.get(jobId) ?? Promise.resolve())
        .then(() =>
          pool.query({
            name: "bench-event",
            text: "INSERT INTO job_events (job_id, type, data, created_at) VALUES ($1, 'progress', $2::jsonb, $3::timestamp(3))",
            values: [jobId, data, postgresTime(at)],
          }),
        )
        .then(
          () => undefined,
          (error: unknown) => void process.stderr.write(`stream bench: an event insert failed: ${String(error)}\n`),
        );
      tails.set(jobId, next);
      return next;
    };
    return { insert, close: () => pool.end() };
  }
  const writer = new Database(testDb.url.replace(/^file:/, ""), { timeout: 10_000 });
  writer.pragma("journal_mode = WAL");
  writer.pragma("synchronous = NORMAL");
  const statement = writer.prepare("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', ?, ?)");
  return { insert: (jobId, data, at) => void statement.run(jobId, data, sqliteTime(at)), close: async () => void writer.close() };
}

async function measureOn(load: MachineLoad, provider: Provider, log: (message: string) => void): Promise<FanoutResult[]> {
  const testDb = await createTestDatabase(provider);
  const { database, user, token, close } = await createBenchUser(testDb, `bench-stream-${provider}@example.com`);
  const users = [{ id: user.id, token }];
  for (let i = 1; i < USERS; i++) {
    const other = await database.user.create({ data: { email: `bench-stream-${provider}-${i}@example.com` } });
    users.push({ id: other.id, token: (await createApiToken(database, other.id, "bench")).token });
  }
  const jobs: BenchJob[] = [];
  const jobCount = Math.max(...sizes.subscribers.map((count) => levelShape(count).jobs));
  for (let i = 0; i < jobCount; i++) {
    const owner = users[i % users.length]!;
    const job = await database.job.create({
      data: { userId: owner.id, workflowId: "img-edit-to-video", status: "running", inputs: {}, execution: { create: { workflowId: "img-edit-to-video", maxAttempts: 3, leaseOwner: "bench-writer:1:x", leaseExpiresAt: new Date(Date.now() + 3_600_000) } } },
    });
    jobs.push({ id: job.id, token: owner.token });
  }
  const writer = await openWriter(testDb);
  const fanout: FanoutResult[] = [];
  try {
    log(`stream (${load}, ${provider}): Montage server and the bare node:http baseline`);
    const next = await startServer({
      DATABASE_URL: testDb.url,
      DATA_DIR: testDb.dataDir,
      LOG_LEVEL: "warn",
      // The per-user limits would refuse a benchmark's load by design: off here.
      RATE_LIMIT_EXECUTES_PER_MINUTE: "0",
      RATE_LIMIT_CONCURRENT_STREAMS: "0",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "3600",
    }, PORTS.next);
    try {
      const source = provider === "sqlite" ? testDb.url.replace(/^file:/, "") : testDb.url;
      const bare = await spawnTsx("bench/bare-sse-server.ts", [source, String(PORTS.bare), String(BARE_TAIL_MS)], `http://127.0.0.1:${PORTS.bare}/health`);
      try {
        // Both servers stay up (the idle one costs almost nothing); each round measures Montage, then
        // the bare server, at each level, so that the rounds' medians and ratios share the machine.
        for (let round = 1; round <= sizes.streamRounds; round++) {
          for (const count of sizes.subscribers) {
            if (round > (count > 1000 ? sizes.streamRoundsLarge : sizes.streamRounds)) continue;
            for (const [name, base, pid] of [["montage", next.url, next.process.pid!], ["bare", `http://127.0.0.1:${PORTS.bare}`, bare.process.pid!]] as const) {
              log(`stream (${load}, ${provider}): round ${round}, ${name} with ${count} subscribers`);
              fanout.push(await measure(load, provider, name, base, pid, jobs, count, writer.insert, round));
              log(`  ${describe(fanout.at(-1)!)}`);
            }
          }
        }
      } finally {
        await bare.stop();
      }
    } finally {
      await next.stop();
    }
  } finally {
    await writer.close();
    await close();
    await testDb.drop();
  }
  return fanout;
}

export async function runStreamSection({ rows, results, log, load }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void; load: MachineLoad }): Promise<void> {
  const fanout: FanoutResult[] = [];
  for (const provider of sizes.streamDatabases) fanout.push(...(await measureOn(load, provider, log)));
  results[load === "busy" ? "streamBusy" : "stream"] = { users: USERS, measureMs: MEASURE_MS, bareTailMs: BARE_TAIL_MS, rounds: sizes.streamRounds, fanout };
  streamRows(rows, load, fanout, BARE_TAIL_MS);
}
