/**
 * npm run test:load [-- --jobs 60 --flips 4 --database sqlite]
 *
 * A bounded load test on loopback: N concurrent executions against the real server (the production
 * build, `next start`) on the embedded default (in-process runner, SQLite; or PostgreSQL with
 * --database postgresql), while the provider fault switch flips. Each flip restarts the server
 * with the next LOCAL_PROVIDER_FAULTS, alternating a graceful stop (SIGTERM) and a kill -9. At the
 * end every job must be terminal (none lost or stuck), and every completed job must have exactly one
 * completed checkpoint per step. Prints its figures; exits 1 when a job is lost, stuck or duplicated.
 * Not part of CI (it takes minutes); see docs/reliability.md. Needs `npm run build` first.
 */
import { parseArgs } from "node:util";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider } from "../tests/helpers/db";
import { createUserWithToken } from "../tests/helpers/api";
import { startServer, type RunningServer } from "../tests/helpers/server";
import { checkpointsOf, completedCheckpointEvents, startJob, stepStarts } from "../tests/reliability/support";

const { values: args } = parseArgs({
  options: {
    jobs: { type: "string", default: "40" },
    flips: { type: "string", default: "4" },
    database: { type: "string", default: "sqlite" },
    "timeout-minutes": { type: "string", default: "15" },
  },
});
const JOBS = Math.min(500, Math.max(1, Number(args.jobs)));
const FLIPS = Math.min(20, Math.max(0, Number(args.flips)));
const PROVIDER = args.database as Provider;
const TIMEOUT_MS = Number(args["timeout-minutes"]) * 60_000;
/** A job that makes no progress for this long while the server runs counts as stuck. */
const STALL_MS = 120_000;
if (PROVIDER !== "sqlite" && PROVIDER !== "postgresql") throw new Error("--database must be sqlite or postgresql");

/** The fault switch, one setting per server life; each retryable fault has a count, so jobs heal. */
const FAULTS = [
  "image_edit:quota:3,video:outage:4",
  "video:rate_limit:5,image_edit:slow=300",
  "*:timeout:3",
  "storage:outage:3,video:slow=500",
  "image_edit:auth:2",
  "",
];

const TERMINAL = ["completed", "failed", "canceled"];

async function main(): Promise<void> {
  const startedAt = Date.now();
  const database = await createTestDatabase(PROVIDER);
  const rt = await useTestEnvironment(database);
  const db = () => rt.prisma;
  const { token } = await createUserWithToken(`load-${Date.now()}@example.com`);
  let server: RunningServer | undefined;
  const restarts = { graceful: 0, kill9: 0 };
  const faultsUsed: string[] = [];

  const start = async (faults: string) => {
    faultsUsed.push(faults || "(none)");
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      LOCAL_PROVIDER_FAULTS: faults,
      WORKFLOW_RETRY_INTERVAL_SECONDS: "1",
      WORKFLOW_LEASE_SECONDS: "5",
      RATE_LIMIT_EXECUTES_PER_MINUTE: "0",
      LOG_LEVEL: "warn",
    });
    if (new URL(server.url).hostname !== "127.0.0.1") throw new Error("the load test only talks to loopback");
  };

  try {
    await start(FAULTS[0]!);
    console.log(`load test: ${JOBS} executions on ${PROVIDER}, ${FLIPS} fault flips (server restarts), server ${server!.url}`);
    const jobs: string[] = [];
    // Submitted concurrently, 10 requests in flight at a time.
    for (let i = 0; i < JOBS; i += 10) {
      jobs.push(...(await Promise.all(Array.from({ length: Math.min(10, JOBS - i) }, () => startJob(server!.url, token)))));
    }
    console.log(`  ${jobs.length} executions accepted in ${((Date.now() - startedAt) / 1000).toFixed(1)} s`);

    const terminalCount = async () => db().job.count({ where: { id: { in: jobs }, status: { in: TERMINAL } } });
    let flips = 0;
    let lastProgress = { count: -1, at: Date.now() };
    for (;;) {
      const done = await terminalCount();
      if (done !== lastProgress.count) lastProgress = { count: done, at: Date.now() };
      if (done === jobs.length) break;
      if (Date.now() - startedAt > TIMEOUT_MS || Date.now() - lastProgress.at > STALL_MS) break;
      // Flip the faults each time another share of the jobs has ended, so flips land mid-run.
      if (flips < FLIPS && done >= ((flips + 1) * jobs.length) / (FLIPS + 2)) {
        flips++;
        const graceful = flips % 2 === 1;
        if (graceful) {
          await server!.stop();
          restarts.graceful++;
        } else {
          await server!.crash();
          restarts.kill9++;
        }
        await start(FAULTS[flips % FAULTS.length]!);
        console.log(`  flip ${flips}: ${done}/${jobs.length} ended; ${graceful ? "SIGTERM" : "kill -9"}, faults now "${faultsUsed.at(-1)}"`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }

    const rows = await db().job.findMany({ where: { id: { in: jobs } }, include: { execution: true } });
    const byStatus = new Map<string, number>();
    for (const row of rows) byStatus.set(row.status, (byStatus.get(row.status) ?? 0) + 1);
    const lost = jobs.length - rows.length;
    const stuck = rows.filter((row) => !TERMINAL.includes(row.status)).length;
    let duplicated = 0;
    let reruns = 0;
    const latencies: number[] = [];
    for (const row of rows.filter((r) => r.status === "completed")) {
      const counts = await completedCheckpointEvents(db(), row.id);
      const checkpoints = await checkpointsOf(db(), row.id);
      if (counts.some((c) => c !== 1) || [0, 1, 2].some((i) => checkpoints[String(i)]?.status !== "completed")) duplicated++;
      reruns += (await stepStarts(db(), row.id)).length - 3;
      latencies.push(row.completedAt!.getTime() - row.createdAt.getTime());
    }
    latencies.sort((a, b) => a - b);
    const pct = (p: number) => ((latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0) / 1000).toFixed(1);
    const wall = (Date.now() - startedAt) / 1000;
    const failedCodes = rows.filter((r) => r.status === "failed").map((r) => r.errorCode);

    console.log("\nload test figures");
    console.log(`  executions:            ${jobs.length} (${PROVIDER}, in-process runner)`);
    console.log(`  server restarts:       ${restarts.graceful + restarts.kill9} (${restarts.graceful} SIGTERM, ${restarts.kill9} kill -9)`);
    console.log(`  fault settings:        ${faultsUsed.map((f) => `"${f}"`).join(" → ")}`);
    console.log(`  by status:             ${[...byStatus].map(([s, n]) => `${s} ${n}`).join(", ")}`);
    if (failedCodes.length > 0) console.log(`  failed with:           ${failedCodes.join(", ")} (a job whose faults outlasted its 5 attempts)`);
    console.log(`  lost:                  ${lost}`);
    console.log(`  stuck:                 ${stuck}`);
    console.log(`  checkpoints lost or duplicated: ${duplicated}`);
    console.log(`  extra step starts:     ${reruns} (retries after faults, re-runs after restarts)`);
    console.log(`  latency (created → completed): p50 ${pct(50)} s, p95 ${pct(95)} s, max ${pct(100)} s`);
    console.log(`  wall time:             ${wall.toFixed(1)} s (${((jobs.length / wall) * 60).toFixed(1)} executions/min)`);
    process.exitCode = lost > 0 || stuck > 0 || duplicated > 0 ? 1 : 0;
  } finally {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
  }
}

await main();
