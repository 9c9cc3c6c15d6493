/**
 * Section 3: SSE fan-out. N subscribers spread over JOBS running jobs on `next start`, on SQLite
 * and on PostgreSQL, against the bare node:http SSE server (bench/bare-sse-server.ts) reading the
 * same database.
 *
 * The events come from a writer outside both servers (this process, as a separate worker process
 * would write them): one event per job every EVENT_INTERVAL_MS, each carrying the time of its
 * commit. Latency is receive time minus that time. Memory per connection is the server's RSS
 * (whole process group) with the subscribers connected minus before, divided by N.
 */
import http from "node:http";
import Database from "better-sqlite3";
import pg from "pg";
import { postgresTime } from "@/lib/store/postgres/connection";
import { sqliteTime } from "@/lib/store/sqlite/connection";
import { createTestDatabase, type Provider } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createBenchUser, groupRssBytes, spawnTsx } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";
import { sleep, summarize, type Summary } from "./lib/stats";

const JOBS = 10;
const EVENT_INTERVAL_MS = 200;
// Long enough that one stall of the server (a garbage-collection pause, a busy neighbour) does not
// decide the p99 on its own: in an 8 s window, one 60 ms stall held back about 1% of the events.
const MEASURE_MS = sizes.quick ? 3000 : 20_000;
const BARE_TAIL_MS = 25;
const PORTS = { next: 3411, bare: 3412 } as const;

/** Wall-clock milliseconds with sub-millisecond resolution: the writer and the subscribers share this process. */
const clock = () => performance.timeOrigin + performance.now();

interface FanoutResult {
  database: Provider;
  server: "montage" | "bare";
  subscribers: number;
  connected: number;
  events: number;
  latency: Summary;
  rssPerConnectionKb: number;
  errors: number;
}

interface Subscriber {
  request: http.ClientRequest;
}

/** Opens N SSE connections (in batches) and records receive latency of events carrying sent_at. */
async function subscribe(base: string, jobIds: string[], count: number, token: string, latencies: number[], counters: { errors: number; connected: number; recording: boolean }) {
  const agent = new http.Agent({ keepAlive: false, maxSockets: Number.POSITIVE_INFINITY });
  const subscribers: Subscriber[] = [];
  const open = (jobId: string) =>
    new Promise<void>((resolve) => {
      const request = http.get(`${base}/jobs/${jobId}/stream`, { agent, headers: { authorization: `Bearer ${token}`, accept: "text/event-stream" } }, (response) => {
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
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const dataLine = block.split("\n").find((line) => line.startsWith("data: "));
            if (!dataLine || !counters.recording) continue;
            const sentAt = (JSON.parse(dataLine.slice(6)) as { sent_at?: number }).sent_at;
            if (sentAt) latencies.push(clock() - sentAt);
          }
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
    await Promise.all(Array.from({ length: Math.min(100, count - i) }, (_, k) => open(jobIds[(i + k) % jobIds.length]!)));
  }
  return () => {
    for (const s of subscribers) s.request.destroy();
    agent.destroy();
  };
}

/** Inserts one progress event as another process would: its own connection, its own commit. */
type InsertEvent = (jobId: string, data: string, at: Date) => void;

async function measure(database: Provider, server: FanoutResult["server"], base: string, pid: number, jobIds: string[], count: number, token: string, insert: InsertEvent): Promise<FanoutResult> {
  await sleep(500);
  const rssBefore = groupRssBytes(pid);
  const latencies: number[] = [];
  const counters = { errors: 0, connected: 0, recording: false };
  const close = await subscribe(base, jobIds, count, token, latencies, counters);
  await sleep(1500);
  let seq = 0;
  // Steady event flow; each job's events are spread across the interval.
  const timers = jobIds.map((jobId, index) =>
    setTimeout(() => {
      const timer = setInterval(() => {
        const now = clock();
        insert(jobId, JSON.stringify({ step: 0, step_name: "bench", progress: seq % 100, step_progress: seq++ % 100, sent_at: now }), new Date(now));
      }, EVENT_INTERVAL_MS);
      timers.push(timer);
    }, (index * EVENT_INTERVAL_MS) / jobIds.length),
  );
  await sleep(1000); // warm-up: first reads, JIT
  counters.recording = true;
  await sleep(MEASURE_MS);
  const rssDuring = groupRssBytes(pid);
  counters.recording = false;
  for (const timer of timers) clearInterval(timer);
  close();
  await sleep(500);
  return {
    database,
    server,
    subscribers: count,
    connected: counters.connected,
    events: latencies.length,
    latency: summarize(latencies),
    rssPerConnectionKb: Math.round((rssDuring - rssBefore) / 1024 / Math.max(1, counters.connected)),
    errors: counters.errors,
  };
}

/** The writer outside both servers: a raw driver connection of its own. */
async function openWriter(testDb: { provider: Provider; url: string }): Promise<{ insert: InsertEvent; close(): Promise<void> }> {
  if (testDb.provider === "postgresql") {
    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    const insert: InsertEvent = (jobId, data, at) =>
      void client.query({
        name: "bench-event",
        text: "INSERT INTO job_events (job_id, type, data, created_at) VALUES ($1, 'progress', $2::jsonb, $3::timestamp(3))",
        values: [jobId, data, postgresTime(at)],
      }).catch((error: unknown) => process.stderr.write(`stream bench: an event insert failed: ${String(error)}\n`));
    return { insert, close: () => client.end() };
  }
  const writer = new Database(testDb.url.replace(/^file:/, ""), { timeout: 10_000 });
  writer.pragma("journal_mode = WAL");
  writer.pragma("synchronous = NORMAL");
  const statement = writer.prepare("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', ?, ?)");
  return { insert: (jobId, data, at) => void statement.run(jobId, data, sqliteTime(at)), close: async () => void writer.close() };
}

async function measureOn(provider: Provider, log: (message: string) => void): Promise<FanoutResult[]> {
  const testDb = await createTestDatabase(provider);
  const { database, user, token, close } = await createBenchUser(testDb, `bench-stream-${provider}@example.com`);
  const jobIds: string[] = [];
  for (let i = 0; i < JOBS; i++) {
    const job = await database.job.create({
      data: { userId: user.id, workflowId: "img-edit-to-video", status: "running", inputs: {}, execution: { create: { workflowId: "img-edit-to-video", maxAttempts: 3, leaseOwner: "bench-writer:1:x", leaseExpiresAt: new Date(Date.now() + 3_600_000) } } },
    });
    jobIds.push(job.id);
  }
  const writer = await openWriter(testDb);
  const fanout: FanoutResult[] = [];
  try {
    log(`stream (${provider}): next start`);
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
      for (const count of sizes.subscribers) {
        log(`stream (${provider}): montage with ${count} subscribers`);
        fanout.push(await measure(provider, "montage", next.url, next.process.pid!, jobIds, count, token, writer.insert));
      }
    } finally {
      await next.stop();
    }
    log(`stream (${provider}): bare node:http baseline`);
    const source = provider === "sqlite" ? testDb.url.replace(/^file:/, "") : testDb.url;
    const bare = await spawnTsx("bench/bare-sse-server.ts", [source, String(PORTS.bare), String(BARE_TAIL_MS)], `http://127.0.0.1:${PORTS.bare}/health`);
    try {
      for (const count of sizes.subscribers) {
        log(`stream (${provider}): bare with ${count} subscribers`);
        fanout.push(await measure(provider, "bare", `http://127.0.0.1:${PORTS.bare}`, bare.process.pid!, jobIds, count, token, writer.insert));
      }
    } finally {
      await bare.stop();
    }
  } finally {
    await writer.close();
    await close();
    await testDb.drop();
  }
  return fanout;
}

const DATABASE_NAMES: Record<Provider, string> = { sqlite: "SQLite", postgresql: "PostgreSQL" };

export async function runStreamSection({ rows, results, log }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void }): Promise<void> {
  const fanout: FanoutResult[] = [];
  for (const provider of sizes.streamDatabases) fanout.push(...(await measureOn(provider, log)));
  results.stream = { jobs: JOBS, eventIntervalMs: EVENT_INTERVAL_MS, measureMs: MEASURE_MS, bareTailMs: BARE_TAIL_MS, fanout };
  for (const provider of sizes.streamDatabases) {
    const on = DATABASE_NAMES[provider];
    for (const count of sizes.subscribers) {
      const montage = fanout.find((f) => f.database === provider && f.server === "montage" && f.subscribers === count);
      const bare = fanout.find((f) => f.database === provider && f.server === "bare" && f.subscribers === count);
      for (const f of [montage, bare]) {
        if (!f) continue;
        const row: Row = {
          section: "3 Stream fan-out",
          metric: `${f.server === "montage" ? "Montage (next start)" : provider === "sqlite" ? `bare node:http, ${BARE_TAIL_MS} ms tail` : "bare node:http, LISTEN"} on ${on}, ${count} subscribers on ${JOBS} jobs (${f.connected} connected, ${f.errors} errors, ${f.events} events received): commit-to-client p50 / p99; RSS per connection`,
          value: `${ms(f.latency.p50)} / ${ms(f.latency.p99)}; ${f.rssPerConnectionKb} KB`,
        };
        if (f.server === "montage" && count === 1000) Object.assign(row, { target: "p99 ≤ 100 ms", met: f.latency.p99 <= 100 });
        rows.push(row);
      }
      if (montage && bare) {
        const ratio = montage.latency.p99 / bare.latency.p99;
        rows.push({
          section: "3 Stream fan-out",
          metric: `Montage ÷ bare on ${on}, ${count} subscribers, p99`,
          value: `${ratio.toFixed(2)}×`,
          ...(count === 1000 && { target: "≤ 2×", met: ratio <= 2 }),
        });
      }
    }
  }
}
