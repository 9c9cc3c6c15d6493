/**
 * DBOS Transact running the same no-op workflows as the Montage engine, in a process of its own
 * (DBOS is a process-wide singleton). Its best configuration for this comparison: the system
 * database on loopback PostgreSQL (the same server Montage uses), workflows and steps registered
 * with DBOS.registerWorkflow / DBOS.runStep, workflows called and awaited directly (no queue),
 * logging at error level, no tracing/OTLP.
 *
 * Usage: tsx bench/dbos-worker.ts <json {url, steps10Runs, steps100Runs, throughputRuns, concurrencies}>
 * Prints one JSON line with the samples.
 */
import { DBOS } from "@dbos-inc/dbos-sdk";

interface Args {
  url: string;
  steps10Runs: number;
  steps100Runs: number;
  throughputRuns: number;
  concurrencies: number[];
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args;

let stepTimes: number[] = [];
const noop = async () => {
  stepTimes.push(performance.now());
  return "ok";
};

async function manySteps(count: number): Promise<number> {
  for (let i = 0; i < count; i++) await DBOS.runStep(noop, { name: `step-${i}` });
  return count;
}
const manyStepsWorkflow = DBOS.registerWorkflow(manySteps, { name: "bench-many-steps" });

async function threeSteps(): Promise<number> {
  await DBOS.runStep(async () => "a", { name: "a" });
  await DBOS.runStep(async () => "b", { name: "b" });
  await DBOS.runStep(async () => "c", { name: "c" });
  return 3;
}
const threeStepWorkflow = DBOS.registerWorkflow(threeSteps, { name: "bench-three-steps" });

async function stepOverhead(steps: number, runs: number) {
  const gaps: number[] = [];
  const perStepOfRun: number[] = [];
  for (let run = 0; run < runs; run++) {
    stepTimes = [];
    const started = performance.now();
    await manyStepsWorkflow(steps);
    perStepOfRun.push((performance.now() - started) / steps);
    for (let i = 1; i < stepTimes.length; i++) gaps.push(stepTimes[i]! - stepTimes[i - 1]!);
  }
  return { gaps, perStepOfRun };
}

async function throughput(runs: number, concurrency: number) {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < runs) {
        next++;
        const t0 = performance.now();
        await threeStepWorkflow();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { seconds: (performance.now() - started) / 1000, latencies };
}

async function main() {
  DBOS.setConfig({ name: "montage-bench", systemDatabaseUrl: args.url, logLevel: "error", systemDatabasePoolSize: 20 });
  await DBOS.launch();
  // Warm-up: connections, prepared plans, JIT.
  await stepOverhead(10, 5);
  for (let i = 0; i < 50; i++) await threeStepWorkflow();
  const steps10 = await stepOverhead(10, args.steps10Runs);
  const steps100 = await stepOverhead(100, args.steps100Runs);
  const throughputResults: Record<string, { seconds: number; latencies: number[] }> = {};
  for (const concurrency of args.concurrencies) throughputResults[concurrency] = await throughput(args.throughputRuns, concurrency);
  await DBOS.shutdown();
  process.stdout.write(`\nDBOS_RESULT ${JSON.stringify({ steps10, steps100, throughput: throughputResults })}\n`);
}

main().catch((error: unknown) => {
  process.stdout.write(`\nDBOS_ERROR ${JSON.stringify(String((error as Error)?.stack ?? error))}\n`);
  process.exit(1);
});
