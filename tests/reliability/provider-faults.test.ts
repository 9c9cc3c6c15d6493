import { afterAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { openDatabase } from "@/lib/server/database";
import { resolveDatabase } from "@/lib/db/database-url";
import { createApiToken } from "@/lib/auth/tokens";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { startServer, type RunningServer } from "../helpers/server";
import { describeJob, startJob, stepStarts, waitFor } from "./support";

interface Scenario {
  name: string;
  faults: string;
  status: "completed" | "failed";
  attempts: number;
  retryCount: number;
  errorCode: string | null;
  /** Reasons of the retry_scheduled events, in order. */
  retries: string[];
  starts: number[];
}

const retried = (kind: string, times: number): Scenario => ({
  name: `${kind} on the first ${times} calls`,
  faults: `image_edit:${kind}:${times}`,
  status: "completed",
  attempts: times + 1,
  retryCount: times,
  errorCode: null,
  retries: Array<string>(times).fill(kind),
  starts: [0, ...Array<number>(times + 1).fill(1), 2],
});

/**
 * The documented outcome of each way a provider fails (docs/architecture.md, "Errors"), through a real
 * server with the fault switch failing the image-edit model's first N calls: retryable failures park
 * the job and the sweep resumes it at the failed step until it completes; a hard failure fails it at
 * once; and a provider still failing at the 5th attempt fails the job, which then stays failed.
 */
const scenarios: Scenario[] = [
  retried("auth", 2),
  retried("quota", 2),
  retried("rate_limit", 2),
  retried("outage", 2),
  retried("timeout", 2),
  {
    name: "hard on the first call",
    faults: "image_edit:hard:1",
    status: "failed",
    attempts: 1,
    retryCount: 0,
    errorCode: "content_rejected",
    retries: [],
    starts: [0, 1],
  },
  {
    name: "outage on every one of the 5 attempts",
    faults: "image_edit:outage:5",
    status: "failed",
    attempts: 5,
    retryCount: 5,
    errorCode: "outage",
    retries: ["outage", "outage", "outage", "outage"],
    starts: [0, 1, 1, 1, 1, 1],
  },
];

describe.concurrent("a provider failing its first N calls, through a real server", { timeout: 300_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  const figures: string[] = [];

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
    console.log(`[reliability] provider-faults: ${scenarios.length} scenarios, ${figures.length} jobs run, 0 lost\n  ${figures.join("\n  ")}`);
  });

  it.each(scenarios)("$name", async (scenario) => {
    const database: TestDatabase = await createTestDatabase("sqlite");
    const opened = openDatabase(resolveDatabase(database.url, database.dataDir));
    const db: Db = opened.prisma;
    // Assigned once started; the cleanup above may run before that.
    let server: RunningServer | undefined = undefined;
    cleanups.push(async () => {
      await server?.stop();
      await opened.close();
      await database.drop();
    });
    const user = await db.user.create({ data: { email: "faults@example.com" } });
    const { token } = await createApiToken(opened.store, user.id, "test");
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      LOCAL_PROVIDER_FAULTS: scenario.faults,
      // Short backoff (0.5 s, doubling) and sweep, so that five attempts take seconds.
      WORKFLOW_RETRY_INTERVAL_SECONDS: "0.5",
    });
    const jobId = await startJob(server.url, token);
    const job = await waitFor(`job ${jobId} ${scenario.status}`, async () => {
      const row = await db.job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } });
      return ["completed", "failed", "canceled"].includes(row.status) ? row : undefined;
    }, 90_000);
    const state = await describeJob(db, jobId);
    expect(job.status, state).toBe(scenario.status);
    expect(job.attempts, state).toBe(scenario.attempts);
    expect(job.execution!.retryCount, state).toBe(scenario.retryCount);
    expect(job.errorCode, state).toBe(scenario.errorCode);
    expect(await stepStarts(db, jobId), state).toEqual(scenario.starts);
    const events = await db.jobEvent.findMany({ where: { jobId }, orderBy: { id: "asc" } });
    expect(events.filter((e) => e.type === "retry_scheduled").map((e) => (e.data as { reason: string }).reason)).toEqual(scenario.retries);
    const last = events.at(-1)!;
    if (scenario.status === "completed") {
      expect(last.type).toBe("complete");
    } else {
      expect(last).toMatchObject({ type: "error", data: { status: "failed", code: scenario.errorCode, step: 1 } });
      if (scenario.attempts === 5) expect(job.error).toMatch(/^Gave up after 5 attempts: /);
      // It stops: a job started afterwards on the same server completes (the sweep ran meanwhile),
      // and the failed job has not moved.
      const marker = await startJob(server.url, token);
      await waitFor(`job ${marker} completed`, async () => (await db.job.findUniqueOrThrow({ where: { id: marker } })).status === "completed", 60_000);
      const after = await db.job.findUniqueOrThrow({ where: { id: jobId } });
      expect(after).toMatchObject({ status: "failed", attempts: scenario.attempts });
      expect(await db.jobEvent.count({ where: { jobId } })).toBe(events.length);
    }
    figures.push(`${scenario.faults}: ${job.status} after ${job.attempts} attempt(s)`);
  });
});
