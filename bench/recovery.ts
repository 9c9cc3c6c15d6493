/**
 * Section 5: recovery. (a) kill -9 of `next start` (SQLite) while a step runs, then a restart:
 * time from the restart to the interrupted step starting again. (b) The in-process runner picking
 * up a due parked job: one it parked itself (its own wake-up timer) and one parked by another
 * process (found by the periodic sweep).
 */
import { createTestDatabase } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createBenchUser } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";
import { sleep, summarize } from "./lib/stats";

const PORT = sizes.portBase + 31;
const SWEEP_INTERVAL_MS = 1000;

async function killAndRestart(log: (message: string) => void) {
  const testDb = await createTestDatabase("sqlite");
  const { database, token, close } = await createBenchUser(testDb, "bench-recovery@example.com");
  // The edit waits at a gate nobody opens: the kill lands inside it, and the measurement ends when
  // the restarted server starts the step again.
  const env = { DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, LOG_LEVEL: "warn", LOCAL_PROVIDER_FAULTS: "image_edit:gate", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" };
  const { readFileSync } = await import("node:fs");
  const photo = readFileSync(new URL("../tests/fixtures/photo.jpg", import.meta.url));
  let server = await startServer(env, PORT);
  try {
    const form = new FormData();
    form.append("workflow_id", "img-edit-to-video");
    form.append("file", new Blob([new Uint8Array(photo)], { type: "image/jpeg" }), "photo.jpg");
    const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } });
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    const isStepOneStart = (data: unknown) => {
      const d = data as { step?: number; step_progress?: number };
      return d.step === 1 && d.step_progress === 0;
    };
    for (;;) {
      const events = await database.jobEvent.findMany({ where: { jobId, type: "progress" } });
      if (events.some((e) => isStepOneStart(e.data))) break;
      await sleep(20);
    }
    await server.crash();
    const lastId = (await database.jobEvent.findFirst({ where: { jobId }, orderBy: { id: "desc" } }))!.id;
    log("recovery: restarting after kill -9");
    const restartedAt = Date.now();
    server = await startServer(env, PORT);
    const healthyAt = Date.now();
    for (;;) {
      const events = await database.jobEvent.findMany({ where: { jobId, id: { gt: lastId }, type: "progress" } });
      const resumed = events.find((e) => isStepOneStart(e.data));
      if (resumed) return { restartToHealthyMs: healthyAt - restartedAt, restartToStepStartMs: resumed.createdAt.getTime() - restartedAt, healthyToStepStartMs: resumed.createdAt.getTime() - healthyAt };
      if (Date.now() - restartedAt > 60_000) throw new Error("the interrupted execution did not resume within 60 s");
      await sleep(10);
    }
  } finally {
    await server.stop();
    await close();
    await testDb.drop();
  }
}

/** Parks a job and measures from its due time to its step's handler running again. */
async function sweepPickup(log: (message: string) => void) {
  const testDb = await createTestDatabase("sqlite");
  const { openDatabase } = await import("@/lib/server/database");
  const { resolveDatabase } = await import("@/lib/db/database-url");
  const { loadConfig } = await import("@/lib/config");
  const { InProcessRunner } = await import("@/lib/engine/in-process-runner");
  const { JobNotifier } = await import("@/lib/engine/notifier");
  const { RetryableError } = await import("@/lib/workflows/errors");
  const { createProviders } = await import("@/lib/providers");
  const { silentLogger } = await import("@/lib/log");
  const opened = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
  const { prisma: database, store } = opened;
  const config = loadConfig({ DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, LOG_LEVEL: "silent" });
  const engine = { store, notifier: new JobNotifier(), providers: createProviders(config, silentLogger), logger: silentLogger, retryBackoffSeconds: 1 };
  const user = await database.user.create({ data: { email: "bench-sweep@example.com" } });
  const starts = new Map<string, number[]>();
  let failFirst = true;
  const workflow = {
    version: "bench",
    config: { id: "bench-park", name: "bench-park", description: "", icon: "⚙️", inputs: [], steps: [{ name: "only", type: "noop", label: "only" }] },
    handlers: {
      only: async (ctx: { jobId: string }) => {
        const list = starts.get(ctx.jobId) ?? [];
        list.push(Date.now());
        starts.set(ctx.jobId, list);
        if (failFirst && list.length === 1) throw new RetryableError("rate_limit", "throttled", { retryAfterSeconds: 1 });
        return { ok: true };
      },
    },
  };
  const newRunner = (sweepIntervalMs: number) => new InProcessRunner({
    engine: { ...engine, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) },
    checkHealth: async () => ({ healthy: true }),
    concurrency: 4,
    leaseMs: 30_000,
    sweepIntervalMs,
    sweepBatch: 50,
    recheckSeconds: 1,
  });
  // A long sweep interval first, so that only the runner's own wake-up timer can resume the job.
  let runner = newRunner(60_000);
  await runner.start();
  /** A queued job through the store; a job "parked by another process" is then moved to pending_retry by hand. */
  const newJob = async (status: "queued" | "pending_retry", nextRetryAt: Date | null) => {
    const jobId = await store.insertJob({
      userId: user.id,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 5,
      firstEvent: { type: "progress", data: { step: 0, step_name: "only", progress: 0, step_progress: 0, message: "Queued" } },
    });
    if (status === "pending_retry") await database.job.update({ where: { id: jobId }, data: { status, nextRetryAt } });
    return jobId;
  };
  const waitFor = async (jobId: string, count: number) => {
    const deadline = Date.now() + 10_000;
    while ((starts.get(jobId)?.length ?? 0) < count) {
      if (Date.now() > deadline) throw new Error("parked job was not picked up");
      await sleep(5);
    }
    return starts.get(jobId)!.at(-1)!;
  };
  const samples = sizes.quick ? 3 : 6;
  const ownWake: number[] = [];
  const sweep: number[] = [];
  try {
    log("recovery: retries parked by this runner");
    for (let i = 0; i < samples; i++) {
      failFirst = true;
      const jobId = await newJob("queued", null);
      runner.enqueue(jobId);
      await waitFor(jobId, 1);
      const parked = await (async () => {
        for (;;) {
          const job = await database.job.findUniqueOrThrow({ where: { id: jobId } });
          if (job.nextRetryAt) return job.nextRetryAt.getTime();
          await sleep(5);
        }
      })();
      ownWake.push((await waitFor(jobId, 2)) - parked);
    }
    log("recovery: jobs parked by another process, found by the sweep");
    await runner.stop();
    runner = newRunner(SWEEP_INTERVAL_MS);
    await runner.start();
    failFirst = false;
    for (let i = 0; i < samples; i++) {
      const due = Date.now() + 300 + Math.random() * SWEEP_INTERVAL_MS;
      const jobId = await newJob("pending_retry", new Date(due));
      sweep.push((await waitFor(jobId, 1)) - due);
    }
  } finally {
    await runner.stop();
    await opened.close();
    await testDb.drop();
  }
  return { sweepIntervalMs: SWEEP_INTERVAL_MS, ownWake: summarize(ownWake), sweep: summarize(sweep), sweepSamples: sweep, ownWakeSamples: ownWake };
}

export async function runRecoverySection({ rows, results, log }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void }): Promise<void> {
  log("recovery: kill -9");
  const crash = await killAndRestart(log);
  const pickup = await sweepPickup(log);
  results.recovery = { crash, pickup };
  rows.push({
    section: "5 Recovery",
    metric: "kill -9 mid-step (SQLite), restart → interrupted step starts again (of which: restart → healthy)",
    value: `${ms(crash.restartToStepStartMs)} (${ms(crash.restartToHealthyMs)})`,
  });
  rows.push({
    section: "5 Recovery",
    metric: `Due retry parked by this runner: due time → step starts, p50 / max (${pickup.ownWake.n} samples)`,
    value: `${ms(pickup.ownWake.p50)} / ${ms(Math.max(...pickup.ownWakeSamples))}`,
  });
  rows.push({
    section: "5 Recovery",
    metric: `Due job parked by another process: due time → step starts, sweep every ${pickup.sweepIntervalMs} ms (default WORKFLOW_RETRY_INTERVAL_SECONDS=300), p50 / max (${pickup.sweep.n} samples)`,
    value: `${ms(pickup.sweep.p50)} / ${ms(Math.max(...pickup.sweepSamples))}`,
  });
}
