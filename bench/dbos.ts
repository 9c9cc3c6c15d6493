/** Runs bench/dbos-worker.ts on a fresh PostgreSQL database of its own, then drops it. */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import pg from "pg";
import { POSTGRES_ADMIN_URL, postgresUrl } from "../tests/helpers/templates";
import { summarize, type Summary } from "./lib/stats";

export const DBOS_CONFIGURATION =
  "DBOS Transact 5.x (@dbos-inc/dbos-sdk), system database on the same PostgreSQL over loopback TCP (127.0.0.1), " +
  "pool of 20, workflows registered with DBOS.registerWorkflow and steps as DBOS.runStep no-ops, workflows " +
  "called and awaited directly (no queue; one at a time for step overhead, N concurrent callers for throughput), " +
  "logLevel error, no tracing or OTLP, after a warm-up.";

export interface DbosResult {
  ok: boolean;
  error?: string;
  version?: string;
  steps?: Record<"10" | "100", { betweenSteps: Summary; perStepOfRun: Summary }>;
  throughput?: { concurrency: number; runs: number; runsPerSecond: number; latency: Summary }[];
}

interface Raw {
  steps10: { gaps: number[]; perStepOfRun: number[] };
  steps100: { gaps: number[]; perStepOfRun: number[] };
  throughput: Record<string, { seconds: number; latencies: number[] }>;
}

export async function runDbos(options: { steps10Runs: number; steps100Runs: number; throughputRuns: number; concurrencies: number[] }): Promise<DbosResult> {
  const name = `montage_bench_dbos_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  try {
    const root = path.resolve(import.meta.dirname, "..");
    const child = spawn(path.join(root, "node_modules/.bin/tsx"), [path.join(root, "bench/dbos-worker.ts"), JSON.stringify({ url: postgresUrl(name), ...options })], {
      cwd: root,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (err += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    const line = out.split("\n").find((l) => l.startsWith("DBOS_RESULT "));
    if (!line) {
      const failure = out.split("\n").find((l) => l.startsWith("DBOS_ERROR "));
      return { ok: false, error: failure ? (JSON.parse(failure.slice(11)) as string) : `exit ${code}: ${err.slice(-2000)}` };
    }
    const raw = JSON.parse(line.slice("DBOS_RESULT ".length)) as Raw;
    const { version } = JSON.parse(readFileSync(path.join(root, "node_modules/@dbos-inc/dbos-sdk/package.json"), "utf8")) as { version: string };
    return {
      ok: true,
      version,
      steps: {
        "10": { betweenSteps: summarize(raw.steps10.gaps), perStepOfRun: summarize(raw.steps10.perStepOfRun) },
        "100": { betweenSteps: summarize(raw.steps100.gaps), perStepOfRun: summarize(raw.steps100.perStepOfRun) },
      },
      throughput: Object.entries(raw.throughput).map(([concurrency, r]) => ({
        concurrency: Number(concurrency),
        runs: r.latencies.length,
        runsPerSecond: Math.round(r.latencies.length / r.seconds),
        latency: summarize(r.latencies),
      })),
    };
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
