/** Sections 1 (step overhead) and 2 (throughput) on SQLite and PostgreSQL, with DBOS as the peer. */
import { createTestDatabase, type Provider } from "../tests/helpers/db";
import { DBOS_CONFIGURATION, runDbos, type DbosResult } from "./dbos";
import { engineHarness, measureCommitRates, measureStepOverhead, measureThroughput } from "./engine";
import type { CommitRateResult, StepOverheadResult, ThroughputResult } from "./engine";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";

interface SectionArgs {
  rows: Row[];
  results: Record<string, unknown>;
  log(message: string): void;
  steps: boolean;
  throughput: boolean;
}

const STEP_TARGET_MS: Record<Provider, number> = { sqlite: 0.5, postgresql: 1 };
const label: Record<Provider, string> = { sqlite: "SQLite", postgresql: "PostgreSQL" };

export async function runEngineSections({ rows, results, log, steps, throughput }: SectionArgs): Promise<void> {
  const engine: Record<string, { steps: StepOverheadResult[]; commits: CommitRateResult[]; throughput: ThroughputResult[] }> = {};
  for (const provider of ["sqlite", "postgresql"] as const) {
    const testDb = await createTestDatabase(provider);
    const harness = await engineHarness(testDb);
    const entry: (typeof engine)[string] = { steps: [], commits: [], throughput: [] };
    try {
      if (steps) {
        log(`${provider}: step overhead`);
        entry.steps.push(await measureStepOverhead(harness, 10, sizes.stepRuns10));
        entry.steps.push(await measureStepOverhead(harness, 100, sizes.stepRuns100));
        // Checkpoints are rows: a step's commit must cost the same at step 1,000 as at step 10.
        if (sizes.stepRuns1000 > 0) entry.steps.push(await measureStepOverhead(harness, 1000, sizes.stepRuns1000));
        log(`${provider}: raw commit rate`);
        entry.commits = await measureCommitRates(harness, testDb, sizes.commits);
      }
      if (throughput) {
        for (const concurrency of sizes.concurrencies) {
          log(`${provider}: throughput at concurrency ${concurrency}`);
          entry.throughput.push(await measureThroughput(harness, sizes.throughputRuns, concurrency));
        }
      }
    } finally {
      await harness.close();
      await testDb.drop();
    }
    engine[provider] = entry;
  }

  log("DBOS Transact on PostgreSQL");
  const dbos: DbosResult = process.env.BENCH_SKIP_DBOS === "1" ? { ok: false, error: "skipped (BENCH_SKIP_DBOS=1)" } : await runDbos({
    steps10Runs: steps ? sizes.stepRuns10 : 1,
    steps100Runs: steps ? sizes.stepRuns100 : 1,
    throughputRuns: throughput ? sizes.throughputRuns : 0,
    concurrencies: throughput ? sizes.concurrencies : [],
  }).catch((error: unknown) => ({ ok: false, error: String(error) }));
  results.engine = engine;
  results.dbos = { configuration: DBOS_CONFIGURATION, ...dbos };
  if (!dbos.ok) rows.push({ section: "DBOS", metric: "could not run", value: (dbos.error ?? "").split("\n")[0]!.slice(0, 200) });

  for (const provider of ["sqlite", "postgresql"] as const) {
    const entry = engine[provider]!;
    for (const s of entry.steps) {
      const dbosSteps = s.steps === 1000 ? undefined : dbos.steps?.[String(s.steps) as "10" | "100"];
      const target = STEP_TARGET_MS[provider];
      rows.push({
        section: "1 Step overhead",
        metric: `Montage ${label[provider]}, ${s.steps}-step no-op, between steps p50 / p99 (${s.runs} runs)`,
        value: `${ms(s.betweenSteps.p50)} / ${ms(s.betweenSteps.p99)}`,
        target: `p50 ≤ ${target} ms`,
        met: s.betweenSteps.p50 <= target,
      });
      rows.push({
        section: "1 Step overhead",
        metric: `Montage ${label[provider]}, ${s.steps}-step no-op, whole run ÷ steps p50 / p99`,
        value: `${ms(s.perStepOfRun.p50)} / ${ms(s.perStepOfRun.p99)}`,
      });
      if (provider === "postgresql" && dbosSteps) {
        const ratio = s.betweenSteps.p50 / dbosSteps.betweenSteps.p50;
        rows.push({
          section: "1 Step overhead",
          metric: `DBOS PostgreSQL, ${s.steps}-step no-op, between steps p50 / p99`,
          value: `${ms(dbosSteps.betweenSteps.p50)} / ${ms(dbosSteps.betweenSteps.p99)} (whole run ÷ steps p50 ${ms(dbosSteps.perStepOfRun.p50)})`,
        });
        rows.push({
          section: "1 Step overhead",
          metric: `Montage PG ÷ DBOS, ${s.steps}-step, median between steps`,
          value: ratio.toFixed(2),
          target: "≤ 0.67",
          met: ratio <= 2 / 3,
        });
      }
    }
    const ten = entry.steps.find((s) => s.steps === 10);
    const thousand = entry.steps.find((s) => s.steps === 1000);
    if (ten && thousand) {
      const growth = thousand.betweenSteps.p50 / ten.betweenSteps.p50;
      rows.push({
        section: "1 Step overhead",
        metric: `Montage ${label[provider]}: between steps p50 at 1,000 steps ÷ at 10 steps (checkpoints are rows: a step's cost must not grow with the step count)`,
        value: growth.toFixed(2),
        target: "≤ 1.5",
        met: growth <= 1.5,
      });
    }
    for (const c of entry.commits) {
      rows.push({
        section: "1 Commit floor",
        metric: `${c.label}: one insert per transaction, p50 / p99`,
        value: `${ms(c.perCommit.p50)} / ${ms(c.perCommit.p99)} (${c.commitsPerSecond}/s)`,
      });
    }
    const tenSteps = entry.steps.find((s) => s.steps === 10);
    const prismaCommit = entry.commits[0];
    const rawCommit = entry.commits[1];
    if (tenSteps && prismaCommit && rawCommit) {
      rows.push({
        section: "1 Commit floor",
        metric: `Montage ${label[provider]} step p50 ÷ one commit p50 (Prisma; raw driver)`,
        value: `${(tenSteps.betweenSteps.p50 / prismaCommit.perCommit.p50).toFixed(1)}×; ${(tenSteps.betweenSteps.p50 / rawCommit.perCommit.p50).toFixed(1)}×`,
      });
    }
    for (const t of entry.throughput) {
      const peer = dbos.throughput?.find((d) => d.concurrency === t.concurrency);
      const row: Row = {
        section: "2 Throughput",
        metric: `Montage ${label[provider]}, 3-step no-op, concurrency ${t.concurrency} (${t.runs} runs): runs/s; latency p50 / p99`,
        value: `${t.runsPerSecond}/s; ${ms(t.latency.p50)} / ${ms(t.latency.p99)}`,
      };
      if (provider === "sqlite" && t.concurrency === 32) Object.assign(row, { target: "≥ 500 runs/s", met: t.runsPerSecond >= 500 });
      if (provider === "postgresql" && peer) {
        const ratio = t.runsPerSecond / peer.runsPerSecond;
        Object.assign(row, { target: `≥ 1.5× DBOS (${ratio.toFixed(2)}×)`, met: ratio >= 1.5 });
      }
      rows.push(row);
      if (provider === "postgresql" && peer) {
        rows.push({
          section: "2 Throughput",
          metric: `DBOS PostgreSQL, 3-step no-op, concurrency ${peer.concurrency} (${peer.runs} runs): runs/s; latency p50 / p99`,
          value: `${peer.runsPerSecond}/s; ${ms(peer.latency.p50)} / ${ms(peer.latency.p99)}`,
        });
      }
    }
  }
}
