import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import type { RunningServer } from "../helpers/server";
import { useServerSuite } from "../helpers/suites";
import { checkpointsOf, completedCheckpointEvents, describeJob, startJob, stepStarts, waitFor } from "./support";
import { runtime } from "@/lib/server/runtime";

/**
 * kill -9 of the real server (next start, in-process runner, SQLite) while step 0, then step 1, then
 * step 2 runs. Each phase holds the step it kills at a gate of the fault switch that is never
 * opened, starts a job, waits until that job's step is running, and kills the whole process group. Earlier jobs resume in the next
 * phase and may be killed again in whatever step they are in. At the end every job completes, and
 * each step's handler started exactly once plus once per kill that caught it running.
 */
describe("kill -9 at each step under the in-process runner", { timeout: 300_000 }, () => {
  const suite = useServerSuite("sqlite", "crash-each-step@example.com");
  const db = (): Db => runtime().prisma;

  const start = (faults: string): Promise<RunningServer> => suite.start({ LOCAL_PROVIDER_FAULTS: faults, WORKFLOW_RETRY_INTERVAL_SECONDS: "300", LOG_LEVEL: "info" });

  it("completes every job after the restarts, each completed step's handler having run once", async () => {
    // The fault that holds the killed step until it is killed: step 0 stores the upload (the first
    // storage call), step 1 edits the image, step 2 renders the video.
    const heldStep = ["storage:gate:1", "image_edit:gate", "video:gate"];
    const jobs: string[] = [];
    /** Per job, how often a kill caught each step running: its handler starts once more per kill. */
    const interrupted = new Map<string, number[]>();
    const outputs: string[] = [];

    for (const [step, faults] of heldStep.entries()) {
      const server = await start(faults);
      const jobId = await startJob(server.url, suite.token);
      jobs.push(jobId);
      interrupted.set(jobId, [0, 0, 0]);
      await waitFor(`job ${jobId} step ${step} running`, async () => (await checkpointsOf(db(), jobId))[String(step)]?.status === "running", 30_000);
      await server.crash();
      outputs.push(server.output());

      for (const id of jobs) {
        const job = await db().job.findUniqueOrThrow({ where: { id } });
        if (job.status === "completed") continue;
        expect(job.status, await describeJob(db(), id)).toBe("running");
        const checkpoints = await checkpointsOf(db(), id);
        for (const index of [0, 1, 2]) {
          if (checkpoints[String(index)]?.status === "running") interrupted.get(id)![index]! += 1;
        }
      }
      expect(interrupted.get(jobId)![step]).toBe(1);
    }

    const restartedAt = Date.now();
    const last = await start("");
    for (const jobId of jobs) {
      await waitFor(`job ${jobId} completed`, async () => (await db().job.findUniqueOrThrow({ where: { id: jobId } })).status === "completed", 60_000);
    }
    const recoverySeconds = (Date.now() - restartedAt) / 1000;

    let kills = 0;
    for (const jobId of jobs) {
      const extra = interrupted.get(jobId)!;
      kills += extra.reduce((a, b) => a + b, 0);
      const expected = [0, 1, 2].flatMap((index) => Array<number>(1 + extra[index]!).fill(index));
      expect(await stepStarts(db(), jobId), await describeJob(db(), jobId)).toEqual(expected);
      expect(await completedCheckpointEvents(db(), jobId)).toEqual([1, 1, 1]);
      const job = await db().job.findUniqueOrThrow({ where: { id: jobId } });
      expect(job.result).toMatchObject({ video_url: expect.stringContaining(`/files/jobs/${jobId}/2-video_generation.mp4`) });
      expect(existsSync(path.join(suite.database.dataDir, "media", "jobs", jobId, "2-video_generation.mp4"))).toBe(true);
      expect(await db().jobEvent.count({ where: { jobId, type: "complete" } })).toBe(1);
    }
    expect(last.output()).toContain("resuming orphaned execution");
    console.log(
      `[reliability] crash-each-step: ${heldStep.length} kill -9 injected (at steps 0, 1, 2), ${kills} step runs interrupted, ` +
        `${jobs.length} jobs run, ${jobs.length} completed, 0 lost; recovery after the last restart ${recoverySeconds.toFixed(1)} s`,
    );
  });
});
