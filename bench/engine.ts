/**
 * Sections 1 and 2: the Montage engine's step overhead and throughput on no-op workflows, next to
 * the raw durable commit rate of the same database through the same drivers.
 *
 * Each run takes the app's own path: the job is inserted by the store (createJob's insert, minus
 * the upload: these workflows take no file), then run by an InProcessRunner (not started, so no
 * sweep timer) through run(): its queue, the lease and job read, runExecution with directStepRunner.
 */
import Database from "better-sqlite3";
import pg from "pg";
import { loadConfig } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { resolveDatabase } from "@/lib/db/database-url";
import { InProcessRunner } from "@/lib/engine/in-process-runner";
import { JobNotifier } from "@/lib/engine/notifier";
import { silentLogger } from "@/lib/log";
import { createProviders } from "@/lib/providers";
import { openDatabase } from "@/lib/server/database";
import type { Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import type { TestDatabase } from "../tests/helpers/db";
import { summarize, type Summary } from "./lib/stats";

/** handler call times per job: consecutive differences are the engine's cost between two steps. */
const stepTimes = new Map<string, number[]>();

function noopWorkflow(id: string, steps: number): Workflow {
  const names = Array.from({ length: steps }, (_, i) => `s${i}`);
  const handler = async (ctx: { jobId: string }) => {
    stepTimes.get(ctx.jobId)?.push(performance.now());
    return { ok: true };
  };
  return {
    config: {
      id,
      name: id,
      description: "",
      icon: "⚙️",
      steps: names.map((name) => ({ name, type: "noop", label: name })),
      inputs: [],
    },
    handlers: Object.fromEntries(names.map((name) => [name, handler])),
    version: "bench",
  };
}

export interface EngineHarness {
  provider: TestDatabase["provider"];
  database: Db;
  store: Store;
  runOnce(workflow: Workflow): Promise<{ ms: number; jobId: string }>;
  close(): Promise<void>;
}

export async function engineHarness(testDb: TestDatabase): Promise<EngineHarness> {
  const target = resolveDatabase(testDb.url, testDb.dataDir);
  const { store, prisma: database, close } = openDatabase(target);
  const user = await database.user.create({ data: { email: `bench-${Date.now()}@example.com` } });
  const workflows = new Map<string, Workflow>();
  const config = loadConfig({ DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, LOG_LEVEL: "silent" });
  const runner = new InProcessRunner({
    engine: { store, notifier: new JobNotifier(), providers: createProviders(config, silentLogger), findWorkflow: (id) => workflows.get(id), logger: silentLogger, retryBackoffSeconds: 1 },
    checkHealth: async () => ({ healthy: true }),
    // Above every concurrency level measured: the bench's callers set the concurrency.
    concurrency: 1_000,
    leaseMs: 30_000,
    sweepIntervalMs: 3_600_000,
    sweepBatch: 50,
    recheckSeconds: 1,
  });

  async function runOnce(workflow: Workflow) {
    workflows.set(workflow.config.id, workflow);
    const t0 = performance.now();
    const jobId = await store.insertJob({
      userId: user.id,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 3,
      firstEvent: { type: "progress", data: { step: 0, step_name: "s0", progress: 0, step_progress: 0, message: "Queued" } },
    });
    stepTimes.set(jobId, []);
    const outcome = await runner.run(jobId);
    if (outcome?.status !== "completed") throw new Error(`bench run ended ${outcome?.status ?? "without running"}`);
    return { ms: performance.now() - t0, jobId };
  }

  return { provider: testDb.provider, database, store, runOnce, close };
}

export interface StepOverheadResult {
  steps: number;
  runs: number;
  /** Time between two consecutive no-op handler calls: one step-end and one step-start. */
  betweenSteps: Summary;
  /** Whole run (job creation to completion) divided by its step count. */
  perStepOfRun: Summary;
}

export async function measureStepOverhead(h: EngineHarness, steps: number, runs: number): Promise<StepOverheadResult> {
  const workflow = noopWorkflow(`bench-${steps}-steps`, steps);
  for (let i = 0; i < Math.max(2, Math.ceil(runs / 10)); i++) await h.runOnce(workflow); // warm-up
  const gaps: number[] = [];
  const perStep: number[] = [];
  for (let run = 0; run < runs; run++) {
    const { ms, jobId } = await h.runOnce(workflow);
    perStep.push(ms / steps);
    const times = stepTimes.get(jobId)!;
    for (let i = 1; i < times.length; i++) gaps.push(times[i]! - times[i - 1]!);
    stepTimes.delete(jobId);
  }
  return { steps, runs, betweenSteps: summarize(gaps), perStepOfRun: summarize(perStep) };
}

export interface ThroughputResult {
  concurrency: number;
  runs: number;
  runsPerSecond: number;
  latency: Summary;
}

export async function measureThroughput(h: EngineHarness, runs: number, concurrency: number): Promise<ThroughputResult> {
  const workflow = noopWorkflow("bench-3-steps", 3);
  for (let i = 0; i < 20; i++) await h.runOnce(workflow);
  const latencies: number[] = [];
  let started = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < runs) {
        started++;
        const { ms, jobId } = await h.runOnce(workflow);
        stepTimes.delete(jobId);
        latencies.push(ms);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { concurrency, runs, runsPerSecond: Math.round(runs / seconds), latency: summarize(latencies) };
}

export interface CommitRateResult {
  label: string;
  commits: number;
  perCommit: Summary;
  commitsPerSecond: number;
}

async function timeCommits(label: string, commits: number, commit: () => unknown): Promise<CommitRateResult> {
  for (let i = 0; i < Math.min(100, commits); i++) await commit();
  const samples: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    const s = performance.now();
    await commit();
    samples.push(performance.now() - s);
  }
  const seconds = (performance.now() - t0) / 1000;
  return { label, commits, perCommit: summarize(samples), commitsPerSecond: Math.round(commits / seconds) };
}

/** One small insert per transaction into job_events, through Prisma (same adapter) and the raw driver. */
export async function measureCommitRates(h: EngineHarness, testDb: TestDatabase, commits: number): Promise<CommitRateResult[]> {
  const job = await h.database.job.create({
    data: { userId: (await h.database.user.findFirstOrThrow()).id, workflowId: "bench-commits", status: "completed", inputs: {} },
  });
  const results: CommitRateResult[] = [];
  results.push(
    await timeCommits(`${h.provider} Prisma + adapter: jobEvent.create`, commits, () =>
      h.database.jobEvent.create({ data: { jobId: job.id, type: "progress", data: { n: 1 } } }),
    ),
  );
  if (testDb.provider === "sqlite") {
    const file = testDb.url.replace(/^file:/, "");
    for (const synchronous of ["NORMAL", "FULL"] as const) {
      const raw = new Database(file, { timeout: 10_000 });
      raw.pragma("journal_mode = WAL");
      raw.pragma(`synchronous = ${synchronous}`);
      const insert = raw.prepare("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', '{\"n\":1}', ?)");
      results.push(await timeCommits(`sqlite better-sqlite3 raw, WAL, synchronous=${synchronous}`, commits, () => insert.run(job.id, Date.now())));
      raw.close();
    }
  } else {
    const client = new pg.Client({ connectionString: testDb.url });
    await client.connect();
    results.push(
      await timeCommits("postgresql pg raw (one client)", commits, () =>
        client.query({ name: "bench-insert", text: "INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', '{\"n\":1}')", values: [job.id] }),
      ),
    );
    results.push(...(await measureNotifyTrigger(client, testDb.url, job.id, commits * 2)));
    await client.end();
  }
  return results;
}

/**
 * What the job_events trigger (migration 20261126120000_job_event_watchers) costs a commit:
 * 16 clients each committing a step's three events in one INSERT, with the trigger off, as
 * migrated with nobody watching the job, as migrated with the job watched (so every commit
 * notifies), and with a trigger that notifies for every event, the first design
 * (docs/decisions/2026-11-26-stream-wakeups-listen-notify.md).
 */
async function measureNotifyTrigger(admin: pg.Client, url: string, jobId: string, commits: number): Promise<CommitRateResult[]> {
  const clients = await Promise.all(
    Array.from({ length: 16 }, async () => {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      return client;
    }),
  );
  const insertEvents = (client: pg.Client) =>
    client.query({ name: "bench-events", text: "INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', '{}'), ($1, 'checkpoint', '{}'), ($1, 'progress', '{}')", values: [jobId] });
  const concurrently = async (label: string): Promise<CommitRateResult> => {
    for (const client of clients) await insertEvents(client); // warm-up: statements prepared
    const samples: number[] = [];
    let started = 0;
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (client) => {
        while (started < commits) {
          started++;
          const s = performance.now();
          await insertEvents(client);
          samples.push(performance.now() - s);
        }
      }),
    );
    return { label, commits, perCommit: summarize(samples), commitsPerSecond: Math.round(commits / ((performance.now() - t0) / 1000)) };
  };
  const results: CommitRateResult[] = [];
  try {
    await admin.query("ALTER TABLE job_events DISABLE TRIGGER job_events_notify");
    results.push(await concurrently("postgresql, 16 clients, three events per commit, trigger off"));
    await admin.query("ALTER TABLE job_events ENABLE TRIGGER job_events_notify");
    results.push(await concurrently("the same, trigger as migrated, job not watched"));
    await admin.query("INSERT INTO job_event_watchers (job_id, process_id, expires_at) VALUES ($1, 'bench', (now() AT TIME ZONE 'UTC') + interval '1 hour')", [jobId]);
    results.push(await concurrently("the same, trigger as migrated, job watched (a NOTIFY per commit)"));
    await admin.query("DELETE FROM job_event_watchers WHERE process_id = 'bench'");
    await admin.query(
      "CREATE FUNCTION bench_notify_always() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN PERFORM pg_notify('montage_job_events', NEW.job_id); RETURN NULL; END$$",
    );
    await admin.query("ALTER TABLE job_events DISABLE TRIGGER job_events_notify");
    await admin.query("CREATE TRIGGER bench_notify_always AFTER INSERT ON job_events FOR EACH ROW EXECUTE FUNCTION bench_notify_always()");
    results.push(await concurrently("the same, a trigger notifying for every event (the first design)"));
  } finally {
    await admin.query("DROP TRIGGER IF EXISTS bench_notify_always ON job_events");
    await admin.query("DROP FUNCTION IF EXISTS bench_notify_always()");
    await admin.query("ALTER TABLE job_events ENABLE TRIGGER job_events_notify");
    await Promise.all(clients.map((client) => client.end()));
  }
  return results;
}
