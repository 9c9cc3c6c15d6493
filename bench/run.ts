/**
 * `npm run bench`: measures the engine, the stream and the API next to a peer (DBOS Transact) and
 * the machine's own limits, then writes bench-results/<timestamp>.json and bench-results/latest.md
 * and prints the table. Never fails on a target: it reports them. BENCH_QUICK=1 for a smoke run;
 * BENCH_SECTIONS=steps,throughput,stream,api,recovery picks sections; BENCH_LOAD=quiet|busy|both
 * runs the stream and API sections on a quiet machine, under a background load, or both. See docs/performance.md.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

// The engine's modules read their configuration once: point it at a throwaway place, quietly.
Object.assign(process.env, {
  LOG_LEVEL: "silent",
  DATA_DIR: mkdtempSync(path.join(os.tmpdir(), "montage-bench-")),
  NEXT_TELEMETRY_DISABLED: "1",
});
process.env.DATABASE_URL = `file:${path.join(process.env.DATA_DIR!, "unused.db")}`;

const { sizes } = await import("./lib/sizes");
const { markdownTable } = await import("./lib/report");
const { describeMachine } = await import("./lib/machine");
const { startBusyLoad } = await import("./lib/busy");
type Row = import("./lib/report").Row;

const root = path.resolve(import.meta.dirname, "..");
const startedAt = new Date();
const rows: Row[] = [];
const results: Record<string, unknown> = { startedAt: startedAt.toISOString(), sizes, machine: await describeMachine() };
const want = (section: string) => sizes.sections.includes(section);
const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - startedAt.getTime()) / 1000).toFixed(0)}s] ${message}\n`);

/** A failing section is reported in the table and the JSON; the others still run. */
async function section(name: string, run: () => Promise<void>): Promise<void> {
  try {
    await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    log(`${name} failed: ${message}`);
    rows.push({ section: name, metric: "section failed", value: message.split("\n")[0]!.slice(0, 200) });
    results[`${name}Error`] = message;
  }
}

if (want("steps") || want("throughput")) {
  const { runEngineSections } = await import("./engine-sections");
  await section("engine", () => runEngineSections({ rows, results, log, steps: want("steps"), throughput: want("throughput") }));
}
// The stream and API sections run on a quiet machine, a busy one (a fixed background load the
// bench starts and stops around each section, bench/lib/busy.ts), or both: BENCH_LOAD.
for (const load of sizes.loads) {
  const around = async (name: string, run: () => Promise<void>) => {
    const busy = load === "busy" ? startBusyLoad(sizes.busyDuty) : undefined;
    if (busy) log(`${name}: busy mode, ${busy.workers} workers spinning ${Math.round(busy.duty * 100)}% of the time`);
    try {
      await section(name, run);
    } finally {
      await busy?.stop();
    }
  };
  if (want("stream")) {
    const { runStreamSection } = await import("./stream");
    await around(`stream (${load})`, () => runStreamSection({ rows, results, log, load }));
  }
  if (want("api")) {
    const { runApiSection } = await import("./api");
    await around(`api (${load})`, () => runApiSection({ rows, results, log, load }));
  }
}
if (want("recovery")) {
  const { runRecoverySection } = await import("./recovery");
  await section("recovery", () => runRecoverySection({ rows, results, log }));
}

results.finishedAt = new Date().toISOString();
results.rows = rows;
const seconds = (Date.now() - startedAt.getTime()) / 1000;
const machine = results.machine as Awaited<ReturnType<typeof describeMachine>>;
const table = [
  `# Montage benchmark, ${startedAt.toISOString()}${sizes.quick ? " (BENCH_QUICK smoke run: small sizes)" : ""}`,
  "",
  `Machine: ${machine.summary}. Took ${seconds.toFixed(0)} s.`,
  "",
  markdownTable(rows),
  "",
].join("\n");
const outDir = path.join(root, "bench-results");
mkdirSync(outDir, { recursive: true });
const stamp = startedAt.toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
writeFileSync(path.join(outDir, `${stamp}.json`), JSON.stringify(results, null, 2));
writeFileSync(path.join(outDir, "latest.md"), table);
process.stdout.write(`${table}\nWrote bench-results/${stamp}.json and bench-results/latest.md\n`);
process.exit(0);
