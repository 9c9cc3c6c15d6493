import { describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { useServerSuite } from "../helpers/suites";
import { completedCheckpointEvents, startJob, stepStarts, waitFor } from "./support";
import { runtime } from "@/lib/server/runtime";

const JOBS = 10;

/**
 * Two server processes on one PostgreSQL database, each with its retry sweep every second, racing
 * for the same parked jobs. A first server parks JOBS jobs (a quota fault on the video model, then
 * the open circuit of the local models); it is stopped and the parked jobs are made due; then both
 * racers start at once. Every job completes, each step ran once, except the parked step, which ran
 * once more after the park (not twice), and each job was resumed by exactly one of the two servers.
 */
describe("two servers' sweeps racing for the same parked jobs on PostgreSQL", { timeout: 300_000 }, () => {
  const suite = useServerSuite("postgresql", "sweep-race@example.com");
  const db = (): Db => runtime().prisma;

  it("runs each parked step once more, never twice", async () => {
    // The jobs' uploads arrive at once: past the default of 3 in flight per user.
    const env = { LOG_LEVEL: "info", RATE_LIMIT_CONCURRENT_UPLOADS: String(JOBS) };
    const parker = await suite.start({ ...env, LOCAL_PROVIDER_FAULTS: `video:quota:${JOBS}`, WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    const jobs = await Promise.all(Array.from({ length: JOBS }, () => startJob(parker.url, suite.token)));
    for (const jobId of jobs) {
      await waitFor(`job ${jobId} parked`, async () => (await db().job.findUniqueOrThrow({ where: { id: jobId } })).status === "pending_retry", 60_000);
    }
    await parker.stop();
    // Time passes: the parked jobs are due now.
    await db().job.updateMany({ where: { id: { in: jobs } }, data: { nextRetryAt: new Date(Date.now() - 1000) } });

    const racers = await Promise.all(
      [1, 2].map(() => suite.start({ ...env, LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "1", WORKFLOW_CONCURRENCY: "4" })),
    );
    for (const jobId of jobs) {
      await waitFor(`job ${jobId} completed`, async () => (await db().job.findUniqueOrThrow({ where: { id: jobId } })).status === "completed", 90_000);
    }

    const resumedBy = [0, 0];
    for (const jobId of jobs) {
      // The quota fault parks the first job at step 2 and opens the local models' circuit, which
      // parks the others at whichever model step (1 or 2) they reached.
      const parks = await db().jobEvent.findMany({ where: { jobId, type: "retry_scheduled" } });
      expect(parks).toHaveLength(1);
      const parkedAt = (parks[0]!.data as { step: number }).step;
      expect([0, 1, 2].flatMap((step) => (step === parkedAt ? [step, step] : [step]))).toEqual(await stepStarts(db(), jobId));
      expect(await completedCheckpointEvents(db(), jobId)).toEqual([1, 1, 1]);
      expect(await db().jobEvent.count({ where: { jobId, type: "complete" } })).toBe(1);
      const job = await db().job.findUniqueOrThrow({ where: { id: jobId } });
      expect(job.attempts).toBe(2);
      // Which racer ran the resumed step, from their logs: exactly one of them.
      const ran = racers.map((racer) => racer.output().split("\n").filter((line) => line.includes('"execution completed"') && line.includes(jobId)).length);
      expect(ran.reduce((a, b) => a + b, 0)).toBe(1);
      resumedBy[ran.indexOf(1)]! += 1;
    }
    console.log(
      `[reliability] sweep-race: 2 servers racing, ${JOBS} parked jobs, ${JOBS} completed, 0 lost, 0 steps run twice; ` +
        `resumed by server A: ${resumedBy[0]}, by server B: ${resumedBy[1]}`,
    );
  });
});
