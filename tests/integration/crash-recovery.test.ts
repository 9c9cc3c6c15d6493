import path from "node:path";
import { describe, expect, it } from "vitest";
import { openGate } from "@/lib/providers/local/faults";
import { runtime } from "@/lib/server/runtime";
import { jpegBlob, readJob, waitForJobStatus } from "../helpers/api";
import { useServerSuite } from "../helpers/suites";

/**
 * kill -9 of the real server (next start, in-process runner, SQLite) while step 2 runs, then a
 * restart: the job completes, and step 1's handler ran exactly once.
 */
describe("crash recovery", () => {
  const suite = useServerSuite("sqlite", "crash@example.com");

  it("resumes an execution interrupted by kill -9 from its last checkpoint", async () => {
    const env = {
      // The image edit waits at a gate: it is still running when the server is killed, however
      // long the test takes to see it running.
      LOCAL_PROVIDER_FAULTS: "image_edit:gate",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      LOG_LEVEL: "info",
    };
    let server = await suite.start(env);
    const form = new FormData();
    form.append("workflow_id", "img-edit-to-video");
    form.append("file", jpegBlob(), "photo.jpg");
    const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${suite.token}` } });
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };

    const db = () => runtime().prisma;
    for (;;) {
      if ((await readJob(jobId)).layout["1"]?.status === "running") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.crash();
    const interrupted = await db().job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } });
    expect(interrupted.status).toBe("running");
    expect(interrupted.execution!.leaseOwner).not.toBeNull();

    // The restarted server (same faults) lets the edit through.
    openGate(path.join(suite.database.dataDir, "gates"), "image_edit");
    server = await suite.start(env);
    const done = await waitForJobStatus(jobId, ["completed"], 60_000);
    expect(done.result).toMatchObject({ video_url: expect.stringContaining(`/files/jobs/${jobId}/2-video_generation.mp4`) });

    const starts = (await db().jobEvent.findMany({ where: { jobId, type: "progress" }, orderBy: { id: "asc" } }))
      .map((e) => e.data as { step: number; step_progress: number; message?: string })
      .filter((d) => d.step_progress === 0 && ["Upload image", "Edit image with AI", "Generate video"].includes(d.message ?? ""))
      .map((d) => d.step);
    // Step 1 (upload) ran once; step 2 ran twice (interrupted, then resumed); step 3 once.
    expect(starts).toEqual([0, 1, 1, 2]);
    expect(server.output()).toContain("resuming orphaned execution");
  });
});
