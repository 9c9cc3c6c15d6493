import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";
import { checkpointsOf, completedCheckpointEvents, describeJob, PrivatePostgres, startJob, stepStarts, waitFor } from "./support";
import { runtime } from "@/lib/server/runtime";

// Larger runs for a soak: RELIABILITY_PG_JOBS=20 RELIABILITY_PG_RESTARTS=15 npx vitest run tests/reliability/postgres-restart.test.ts
const JOBS = Number(process.env.RELIABILITY_PG_JOBS ?? 8);
const RESTARTS = Number(process.env.RELIABILITY_PG_RESTARTS ?? 4);

/**
 * PostgreSQL (a private cluster, never the shared server) restarted RESTARTS times, alternating a
 * clean fast shutdown and a crash-like immediate one, while a batch of runs goes through a real
 * server. Each restart waits for more steps to complete first, so it lands mid-batch. Every job
 * completes, each step has exactly one completed checkpoint, and the server, never restarted, keeps
 * serving: it reconnects by itself.
 */
describe("PostgreSQL restarted during a batch of runs", { timeout: 300_000 }, () => {
  let cluster: PrivatePostgres;
  let database: TestDatabase;
  let token: string;
  let db: () => Db;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    cluster = await PrivatePostgres.create();
    const url = await cluster.createMigratedDatabase("montage");
    const dataDir = mkdtempSync(path.join(tmpdir(), "montage-test-"));
    database = { provider: "postgresql", url, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
    await useTestEnvironment(database);
    ({ token } = await createUserWithToken("pg-restart@example.com"));
    db = () => runtime().prisma;
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database?.drop();
    cluster?.remove();
  });

  it("completes every job with no checkpoint lost or duplicated, and the server reconnects by itself", async () => {
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      LOG_LEVEL: "info",
      // Steps slow enough that restarts land inside them; short sweep and lease so that recovery is quick.
      LOCAL_PROVIDER_FAULTS: "image_edit:slow=1000,video:slow=1000",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "1",
      WORKFLOW_LEASE_SECONDS: "3",
      // The batch's uploads arrive at once: past the default of 3 in flight per user.
      RATE_LIMIT_CONCURRENT_UPLOADS: String(JOBS),
    });
    const jobs = await Promise.all(Array.from({ length: JOBS }, () => startJob(server!.url, token)));

    const completedSteps = async () =>
      (await db().jobEvent.findMany({ where: { type: "checkpoint" }, select: { data: true } })).filter((e) => (e.data as { status: string }).status === "completed").length;
    let seen = 0;
    for (let restart = 0; restart < RESTARTS; restart++) {
      const target = seen + 2;
      seen = await waitFor(`${target} completed steps before restart ${restart + 1}`, async () => {
        const count = await completedSteps();
        return count >= target ? count : undefined;
      }, 90_000);
      cluster.restart(restart % 2 === 0 ? "immediate" : "fast");
    }

    for (const jobId of jobs) {
      await waitFor(`job ${jobId} to end`, async () => {
        const job = await db().job.findUniqueOrThrow({ where: { id: jobId } });
        return ["completed", "failed", "canceled"].includes(job.status);
      }, 120_000);
    }
    let reruns = 0;
    for (const jobId of jobs) {
      const job = await db().job.findUniqueOrThrow({ where: { id: jobId } });
      expect(job.status, await describeJob(db(), jobId)).toBe("completed");
      expect(await completedCheckpointEvents(db(), jobId)).toEqual([1, 1, 1]);
      expect(Object.values(await checkpointsOf(db(), jobId)).map((c) => c.status)).toEqual(["completed", "completed", "completed"]);
      expect(await db().jobEvent.count({ where: { jobId, type: "complete" } })).toBe(1);
      reruns += (await stepStarts(db(), jobId)).length - 3;
    }

    // The same server process, never restarted, still works: it reconnected by itself.
    expect(server.process.exitCode).toBeNull();
    const after = await startJob(server.url, token);
    await waitFor(`job ${after} completed`, async () => (await db().job.findUniqueOrThrow({ where: { id: after } })).status === "completed", 60_000);
    const health = await fetch(`${server.url}/api/health`);
    expect(health.status).toBe(200);
    const logged = (message: string) => server!.output().split("\n").filter((line) => line.includes(`"msg":"${message}`)).length;
    console.log(
      `[reliability] postgres-restart: ${RESTARTS} database restarts (fast and immediate), ${JOBS + 1} jobs run, ${JOBS + 1} completed, ` +
        `0 lost, 0 checkpoints duplicated; ${reruns} interrupted step(s) re-run from their checkpoint; server log: ` +
        `${logged("execution interrupted by an internal error")} runs interrupted by a database error, ${logged("sweep failed")} sweeps failed, ` +
        `${logged("lease heartbeat failed")} lease heartbeats failed, ${logged("resuming orphaned execution")} orphaned executions resumed`,
    );
  });
});
