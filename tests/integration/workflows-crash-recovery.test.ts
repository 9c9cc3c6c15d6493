import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openGate } from "@/lib/providers/local/faults";
import { runtime } from "@/lib/server/runtime";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken, jpegBlob, readJob, waitForJobStatus } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";

/**
 * kill -9 of the real server while Text to Video's video step and Product Shots' scene step run,
 * then a restart: both jobs complete, and the steps before the interrupted ones ran exactly once.
 */
describe("crash recovery of Text to Video and Product Shots", () => {
  let database: TestDatabase;
  let token: string;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    ({ token } = await createUserWithToken("crash-workflows@example.com"));
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(fields: Record<string, string | Blob>): Promise<string> {
    const form = new FormData();
    for (const [name, value] of Object.entries(fields)) form.append(name, value);
    const response = await fetch(`${server!.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(202);
    return ((await response.json()) as { job_id: string }).job_id;
  }

  async function stepStarts(jobId: string, labels: string[]): Promise<number[]> {
    return (await runtime().prisma.jobEvent.findMany({ where: { jobId, type: "progress" }, orderBy: { id: "asc" } }))
      .map((event) => event.data as { step: number; step_progress: number; message?: string })
      .filter((data) => data.step_progress === 0 && labels.includes(data.message ?? ""))
      .map((data) => data.step);
  }

  it("resumes both from their last checkpoints", async () => {
    const env = {
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      // Each interrupted step waits at a gate: still running when the server is killed.
      LOCAL_PROVIDER_FAULTS: "video:gate,scene:gate",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      LOG_LEVEL: "info",
    };
    server = await startServer(env);
    const photo = await sharp({ create: { width: 320, height: 240, channels: 3, background: "#f0f0f0" } })
      .composite([{ input: await sharp({ create: { width: 120, height: 140, channels: 3, background: "#2e86de" } }).png().toBuffer(), left: 100, top: 50 }])
      .jpeg()
      .toBuffer();
    const textToVideo = await execute({ workflow_id: "text-to-video", prompt: "A quiet harbour at dawn", seed: "9" });
    // The scene as one run, not its default 3 candidates: a crash among candidates is tests/integration/candidates.test.ts's.
    const productShots = await execute({ workflow_id: "product-shots", photo: jpegBlob(photo), scene_prompt: "On a kitchen shelf", "candidates[scene]": "1" });

    for (;;) {
      const [a, b] = [await readJob(textToVideo), await readJob(productShots)];
      if (a.layout["1"]?.status === "running" && b.layout["2"]?.status === "running") break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.crash();
    expect((await readJob(textToVideo)).status).toBe("running");
    expect((await readJob(productShots)).status).toBe("running");

    openGate(path.join(database.dataDir, "gates"), "video");
    openGate(path.join(database.dataDir, "gates"), "scene");
    server = await startServer(env);
    const video = await waitForJobStatus(textToVideo, ["completed"], 90_000);
    const shots = await waitForJobStatus(productShots, ["completed"], 90_000);
    expect(video.result).toMatchObject({ video_url: expect.stringContaining(`/files/jobs/${textToVideo}/1-video_generation.mp4`) });
    expect(shots.result).toMatchObject({ image_url: expect.stringContaining(`/files/jobs/${productShots}/3-upscale.png`) });

    expect(await stepStarts(textToVideo, ["Generate image", "Generate video"])).toEqual([0, 1, 1]);
    expect(await stepStarts(productShots, ["Upload product photo", "Remove background", "Place into a scene", "Upscale"])).toEqual([0, 1, 2, 2, 3]);
    expect(server.output()).toContain("resuming orphaned execution");
  });
});
