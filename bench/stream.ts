/**
 * Section 3: SSE fan-out. N subscribers spread over running jobs of several users on Montage's
 * server, on SQLite and on PostgreSQL, against the bare node:http SSE server
 * (bench/bare-sse-server.ts) reading the same database. Up to 1,000 subscribers watch 10 jobs
 * that get an event every 200 ms each; above that (the 10,000 level) there is a job per 100
 * subscribers with an event every second each, so that each level delivers about 10,000
 * events a second at most.
 *
 * Three kinds of process besides the servers, so that no event loop of the bench is what is
 * measured: the subscribers, spread over client processes (bench/stream-client.ts, at most
 * BENCH_STREAM_CLIENT_SUBSCRIBERS each, raw sockets); the writer (bench/stream-writer.ts), which
 * commits the events from outside both servers as a runner would and records each one's commit
 * time; and this one, which only conducts. Latency is an event's receive time minus its commit
 * time, so the database's commit delay is not counted; events committed in the window and not
 * received within DRAIN_MS after it are reported as missing. Memory per connection is the
 * server's RSS (whole process group) with the subscribers connected minus before, divided by N.
 * CPU per delivered event is the server's user + system time over the window divided by the
 * events its subscribers received in it. A connection the server closes during the measurement
 * counts as dropped.
 */
import os from "node:os";
import { createTestDatabase, type Provider } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createApiToken } from "@/lib/auth/tokens";
import { createBenchUser, forkTsx, groupCpuMs, groupRssBytes, spawnTsx, type Conversation } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { streamRows } from "./stream-report";
import { sizes } from "./lib/sizes";
import { sleep, summarize, type Summary } from "./lib/stats";
import type { ClientReply, ClientRequest } from "./stream-client";
import type { WriterReply, WriterRequest } from "./stream-writer";

const USERS = 10;
/** Jobs and the interval between each job's events at a subscriber level (see above). */
const levelShape = (subscribers: number) => (subscribers > 1000 ? { jobs: Math.ceil(subscribers / 100), eventIntervalMs: 1000 } : { jobs: 10, eventIntervalMs: 200 });
// Long enough that one stall of the server (a garbage-collection pause, a busy neighbour) does not
// decide the p99 on its own: in an 8 s window, one 60 ms stall held back about 1% of the events.
const MEASURE_MS = sizes.quick ? 3000 : 20_000;
const BARE_TAIL_MS = 25;
const PORTS = { next: sizes.portBase + 11, bare: sizes.portBase + 12 } as const;

/** Wall-clock milliseconds with sub-millisecond resolution, comparable across the bench's processes. */
const clock = () => performance.timeOrigin + performance.now();
/** How long the bench waits, after the window, for the window's events still on their way. */
const DRAIN_MS = 10_000;
/** Connections being opened at once, over all client processes (as before the clients were split). */
const OPENING_IN_FLIGHT = 100;

export type MachineLoad = "quiet" | "busy";

export interface FanoutResult {
  load: MachineLoad;
  database: Provider;
  server: "montage" | "bare";
  subscribers: number;
  jobs: number;
  eventIntervalMs: number;
  /** Client processes the subscribers were spread over (BENCH_STREAM_CLIENT_SUBSCRIBERS each at most). */
  clients: number;
  connected: number;
  /** Deliveries measured: the window's events received by their subscribers. */
  events: number;
  /** Deliveries of the window's events that had not arrived DRAIN_MS after the window (not in the latency). */
  missing: number;
  latency: Summary;
  rssPerConnectionKb: number;
  cpuMicrosPerEvent: number;
  dropped: number;
  errors: number;
  loadAverage: number[];
  /** Which round (BENCH_STREAM_ROUNDS) this measurement belongs to. */
  round: number;
  /** Events the writer committed in the window, and the events it was due to write (jobs × window ÷ interval). */
  written: number;
  planned: number;
  writerKeptUp: number;
  /** The database's own delay, from an event's due time to its commit, p99: not in the latency (measured from the commit). */
  writerLagP99: number;
}

interface BenchJob {
  id: string;
  token: string;
}

type Client = Conversation<ClientRequest, ClientReply>;
type Writer = Conversation<WriterRequest, WriterReply>;
type Report = Extract<ClientReply, { type: "report" }>;

/** Opens `count` subscribers, round-robin over the jobs, spread evenly over client processes of their own. */
async function openClients(base: string, jobs: BenchJob[], count: number): Promise<{ clients: Client[]; connected: number; errors: number }> {
  const processes = Math.max(1, Math.ceil(count / sizes.streamClientSubscribers));
  const shares = Array.from({ length: processes }, () => new Map<number, number>());
  for (let i = 0; i < count; i++) {
    const share = shares[i % processes]!;
    const job = i % jobs.length;
    share.set(job, (share.get(job) ?? 0) + 1);
  }
  const clients = await Promise.all(shares.map(() => forkTsx<ClientRequest, ClientReply>("bench/stream-client.ts", [])));
  const { hostname, port } = new URL(base);
  const replies = await Promise.all(
    clients.map((client, i) =>
      client.ask({
        type: "open",
        host: hostname,
        port: Number(port),
        jobs: [...shares[i]!].map(([index, n]) => ({ index, id: jobs[index]!.id, token: jobs[index]!.token, count: n })),
        inFlight: Math.max(1, Math.ceil(OPENING_IN_FLIGHT / processes)),
      }),
    ),
  );
  const opened = replies.filter((r) => r.type === "opened");
  return { clients, connected: opened.reduce((sum, r) => sum + r.connected, 0), errors: opened.reduce((sum, r) => sum + r.errors, 0) };
}

async function reportOf(clients: Client[], request: Extract<ClientRequest, { type: "report" }>): Promise<Report[]> {
  return (await Promise.all(clients.map((client) => client.ask(request)))).filter((r): r is Report => r.type === "report");
}

async function measure(load: MachineLoad, database: Provider, server: FanoutResult["server"], base: string, pid: number, allJobs: BenchJob[], count: number, writer: Writer, round: number): Promise<FanoutResult> {
  const { jobs: jobCount, eventIntervalMs } = levelShape(count);
  const jobs = allJobs.slice(0, jobCount);
  await sleep(500);
  const rssBefore = groupRssBytes(pid);
  const { clients, connected, errors } = await openClients(base, jobs, count);
  try {
    await sleep(1500);
    await writer.ask({ type: "start", jobs: jobs.map((job) => job.id), eventIntervalMs });
    await sleep(1000); // warm-up: first reads, JIT
    const cpuBefore = groupCpuMs(pid);
    const from = clock();
    await sleep(MEASURE_MS);
    const to = clock();
    const cpuMs = groupCpuMs(pid) - cpuBefore;
    const rssDuring = groupRssBytes(pid);
    const stopped = await writer.ask({ type: "stop" });
    const all = stopped.type === "stopped" ? stopped.commits : [];
    // The window's events: committed inside it. Latency counts from each one's commit.
    const window = all.filter(([, , , committed]) => committed >= from && committed <= to);
    const commits = window.map(([seq, job, , committed]) => [seq, job, committed] as [number, number, number]);
    // Wait for the window's late deliveries: a slow server's tail is its p99, not something to cut off.
    const drainUntil = clock() + DRAIN_MS;
    let reports = await reportOf(clients, { type: "report", commits, from, to, withLatencies: false });
    while (reports.reduce((sum, r) => sum + r.expected - r.received, 0) > 0 && clock() < drainUntil) {
      await sleep(250);
      reports = await reportOf(clients, { type: "report", commits, from, to, withLatencies: false });
    }
    reports = await reportOf(clients, { type: "report", commits, from, to, withLatencies: true });
    const latencies = reports.flatMap((r) => r.latencies);
    const delivered = reports.reduce((sum, r) => sum + r.deliveredInWindow, 0);
    const planned = Math.round((jobs.length * MEASURE_MS) / eventIntervalMs);
    return {
      load,
      database,
      server,
      subscribers: count,
      jobs: jobs.length,
      eventIntervalMs,
      clients: clients.length,
      connected,
      events: latencies.length,
      missing: reports.reduce((sum, r) => sum + r.expected - r.received, 0),
      latency: summarize(latencies),
      rssPerConnectionKb: Math.round((rssDuring - rssBefore) / 1024 / Math.max(1, connected)),
      cpuMicrosPerEvent: Math.round((cpuMs * 1000) / Math.max(1, delivered)),
      dropped: reports.reduce((sum, r) => sum + r.dropped, 0),
      errors,
      loadAverage: os.loadavg().map((x) => Math.round(x * 100) / 100),
      round,
      written: window.length,
      planned,
      writerKeptUp: Math.round((window.length / planned) * 100) / 100,
      writerLagP99: Math.round(summarize(window.map(([, , due, committed]) => committed - due)).p99 * 10) / 10,
    };
  } finally {
    await Promise.all(clients.map((client) => client.end({ type: "close" })));
    await sleep(500);
  }
}

/** One measurement on one line, logged as soon as it is made (a long run stopped early keeps them). */
const describe = (f: FanoutResult) =>
  `round ${f.round}: ${f.connected}/${f.subscribers} connected over ${f.clients} client processes, ${f.dropped} dropped, ${f.errors} errors, ${f.missing} deliveries missing; writer committed ${f.written} of ${f.planned} events (commit delay p99 ${ms(f.writerLagP99)}); commit-to-client p50 ${ms(f.latency.p50)}, p99 ${ms(f.latency.p99)}, ${f.rssPerConnectionKb} KB per connection, ${f.cpuMicrosPerEvent} µs CPU per event, load average ${f.loadAverage.join("/")}`;

async function measureOn(load: MachineLoad, provider: Provider, log: (message: string) => void): Promise<FanoutResult[]> {
  const testDb = await createTestDatabase(provider);
  const { database, store, user, token, close } = await createBenchUser(testDb, `bench-stream-${provider}@example.com`);
  const users = [{ id: user.id, token }];
  for (let i = 1; i < USERS; i++) {
    const other = await database.user.create({ data: { email: `bench-stream-${provider}-${i}@example.com` } });
    users.push({ id: other.id, token: (await createApiToken(store, other.id, "bench")).token });
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
  const writer = await forkTsx<WriterRequest, WriterReply>("bench/stream-writer.ts", [provider, provider === "sqlite" ? testDb.url.replace(/^file:/, "") : testDb.url]);
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
              fanout.push(await measure(load, provider, name, base, pid, jobs, count, writer, round));
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
    await writer.end({ type: "close" });
    await close();
    await testDb.drop();
  }
  return fanout;
}

export async function runStreamSection({ rows, results, log, load }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void; load: MachineLoad }): Promise<void> {
  const fanout: FanoutResult[] = [];
  for (const provider of sizes.streamDatabases) fanout.push(...(await measureOn(load, provider, log)));
  results[load === "busy" ? "streamBusy" : "stream"] = { users: USERS, measureMs: MEASURE_MS, drainMs: DRAIN_MS, clientSubscribers: sizes.streamClientSubscribers, bareTailMs: BARE_TAIL_MS, rounds: sizes.streamRounds, fanout };
  streamRows(rows, load, fanout, BARE_TAIL_MS);
}
