/**
 * What traces cost the engine: the same no-op 10-step jobs on SQLite, run the app's way (store
 * insert, lease, runExecution with the direct step runner), with traces off (no tracer: nothing is
 * wrapped) and on (the SDK registered, spans batched to a local OTLP/HTTP receiver). Reported as
 * medians and their ratio, interleaved rounds so drift in the machine's load hits both alike.
 *
 *   tsx --conditions=react-server bench/tracing.ts [jobs per round, default 40] [rounds, default 5]
 */
import { loadConfig } from "@/lib/config";
import { silentLogger } from "@/lib/log";
import { startTracing } from "@/lib/server/tracing";
import type { EngineDeps } from "@/lib/engine/types";
import { JobNotifier } from "@/lib/engine/notifier";
import { createProviders } from "@/lib/providers";
import { openDatabase } from "@/lib/server/database";
import { resolveDatabase } from "@/lib/db/database-url";
import { ensureSqliteTemplate } from "../tests/helpers/templates";
import { createTestDatabase } from "../tests/helpers/db";
import { insertTestJob, runJob, testWorkflow } from "../tests/helpers/engine";
import { OtlpReceiver } from "../tests/helpers/otlp-receiver";

const JOBS = Number(process.argv[2] ?? 40);
const ROUNDS = Number(process.argv[3] ?? 5);

ensureSqliteTemplate();
const testDb = await createTestDatabase("sqlite");
const receiver = await new OtlpReceiver().start();
const { store, prisma, close } = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
const config = loadConfig({ DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, LOG_LEVEL: "silent", OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
const userId = (await prisma.user.create({ data: { email: `bench-tracing-${Date.now()}@example.com` } })).id;
const handlers = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`s${i}`, async () => ({ ok: true })]));
const workflow = testWorkflow("bench-tracing", handlers);
const base: EngineDeps = { store, notifier: new JobNotifier(), providers: createProviders(config, silentLogger), findWorkflow: () => workflow, logger: silentLogger, retryBackoffSeconds: 60 };
const tracing = startTracing(config, silentLogger);
const on: EngineDeps = { ...base, tracer: tracing.tracer! };

async function round(engine: EngineDeps): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < JOBS; i++) {
    const jobId = await insertTestJob(store, workflow, userId);
    const started = performance.now();
    await runJob(engine, jobId);
    times.push(performance.now() - started);
  }
  return times;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
await round(base); // warm-up
await round(on);
const off: number[] = [];
const traced: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  off.push(...(await round(base)));
  traced.push(...(await round(on)));
}
await tracing.shutdown();
console.log(`10-step no-op job, ${off.length} runs each, SQLite: traces off median ${median(off).toFixed(2)} ms, on median ${median(traced).toFixed(2)} ms, on/off ${(median(traced) / median(off)).toFixed(3)}; spans received: ${receiver.spans.length}`);
await close();
await receiver.stop();
await testDb.drop();
