/**
 * Text to Video and Product Shots on the production providers: the real `replicate` and
 * `cloudinary` SDKs against the local fakes (which answer in each model's public output shape:
 * flux a list of URLs, the others one URL), through the execute route and the real engine, on
 * SQLite and PostgreSQL. Costs follow the chosen model's pricing; a parked step resumes alone.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { runtime } from "@/lib/server/runtime";
import { BACKGROUND_MODELS, creationsOf, predictionsSince, SCENE_MODEL, startProductionStack, sweepAt, UPSCALE_MODEL, VIDEO_MODEL, waitForJob, type ProductionStack } from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";
import { createUserWithToken, executeRequest, jpegBlob } from "@/tests/helpers/api";

let stack: ProductionStack;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await stack.stop();
});

describe.each<Provider>(["sqlite", "postgresql"])("new workflows on Replicate and Cloudinary (%s)", (provider) => {
  let database: TestDatabase;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, stack.env());
    ({ token } = await createUserWithToken(`production-workflows-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  beforeEach(() => {
    stack.replicate.clearFailures();
    stack.replicate.completeAfter = { polls: 2 };
  });

  async function execute(fields: Record<string, string | Blob>): Promise<{ jobId: string; estimated: number }> {
    const { POST } = await import("@/app/workflows/execute/route");
    const response = await POST(executeRequest(token, fields));
    const body = (await response.json()) as { job_id: string; estimated_cost_usd: number };
    expect(response.status, JSON.stringify(body)).toBe(202);
    return { jobId: body.job_id, estimated: body.estimated_cost_usd };
  }

  it("Text to Video: flux-schnell's list output becomes the first frame of minimax, both kept on Cloudinary, priced per output", async () => {
    const before = stack.replicate.predictions.size;
    const { jobId, estimated } = await execute({ workflow_id: "text-to-video", prompt: "A red fox in snow", aspect_ratio: "9:16", seed: "11" });
    expect(estimated).toBeCloseTo(0.503, 6);
    const job = await waitForJob(jobId, "completed");
    const [image, video] = predictionsSince(stack.replicate, before);
    expect(image).toMatchObject({
      model: "black-forest-labs/flux-schnell",
      input: { prompt: "A red fox in snow", aspect_ratio: "9:16", seed: 11, num_outputs: 1, output_format: "png", num_inference_steps: 4 },
    });
    expect(Array.isArray(image!.output)).toBe(true);
    const imageUrl = job.layout["0"]!.output!.image_url as string;
    expect(imageUrl).toMatch(new RegExp(`^${stack.cloudinary.origin}/.+/image/upload/v\\d+/montage/jobs/${jobId}/0-image_generation\\.png$`));
    expect(video).toMatchObject({ model: VIDEO_MODEL, input: { first_frame_image: imageUrl, prompt_optimizer: true } });
    expect(video!.input).not.toHaveProperty("subject_reference");
    expect(job.result!.video_url).toMatch(/\/video\/upload\/v\d+\/montage\/jobs\/.+\/1-video_generation\.mp4$/);
    expect(job.actualMicroUsd).toBe(503_000);
  });

  it("Text to Video with a character reference: kept on Cloudinary and given to minimax as its subject_reference", async () => {
    const before = stack.replicate.predictions.size;
    const { jobId } = await execute({ workflow_id: "text-to-video", prompt: "A knight", subject_reference: jpegBlob(stack.photo, "image/png") });
    const job = await waitForJob(jobId, "completed");
    const [, video] = predictionsSince(stack.replicate, before);
    const reference = (video!.input as { subject_reference: string }).subject_reference;
    expect(reference).toMatch(new RegExp(`^${stack.cloudinary.origin}/.+/image/upload/v\\d+/montage/jobs/${jobId}/1-video_generation-subject-reference\\.png$`));
    expect(stack.cloudinary.asset("image", `montage/jobs/${jobId}/1-video_generation-subject-reference`)?.bytes.equals(stack.photo)).toBe(true);
    expect(video).toMatchObject({ model: VIDEO_MODEL, input: { first_frame_image: job.layout["0"]!.output!.image_url } });
  });

  it("Text to Video with flux-dev chosen: that model runs, and its price is what is estimated and charged", async () => {
    const before = creationsOf(stack.replicate, "black-forest-labs/flux-dev");
    const { jobId, estimated } = await execute({ workflow_id: "text-to-video", prompt: "A harbour", "models[image_generation]": "black-forest-labs/flux-dev" });
    expect(estimated).toBeCloseTo(0.525, 6);
    const job = await waitForJob(jobId, "completed");
    expect(creationsOf(stack.replicate, "black-forest-labs/flux-dev")).toBe(before + 1);
    expect(job.models).toEqual({ image_generation: "black-forest-labs/flux-dev" });
    expect(job.actualMicroUsd).toBe(525_000);
  });

  it("Product Shots: background removal, three scene candidates (auto-picked), upscale with each model's inputs; a 503 parks the first model step and only it runs again", async () => {
    const before = stack.replicate.predictions.size;
    stack.replicate.fail({ route: "create", status: 503, times: 1 });
    const { jobId } = await execute({ workflow_id: "product-shots", photo: jpegBlob(stack.photo, "image/png"), scene_prompt: "On a wooden table", aspect_ratio: "4:5", seed: "5", auto_pick: "true" });
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.layout["0"]?.status).toBe("completed");
    expect(parked.layout["1"]).toMatchObject({ status: "failed_retryable", error_reason: "outage" });
    expect((await sweepAt()).resumed).toEqual([jobId]);
    const job = await waitForJob(jobId, "completed");

    const made = predictionsSince(stack.replicate, before);
    expect(made).toHaveLength(5);
    const [cutout, upscale] = [made[0], made[4]];
    // The scene step's 3 candidates (its config.json default), each with its own seed; auto_pick took the first that succeeded.
    const scenes = made.slice(1, 4);
    expect(cutout).toMatchObject({ model: BACKGROUND_MODELS[0], input: { image: job.layout["0"]!.output!.image_url, background_type: "rgba", format: "png" } });
    for (const scene of scenes) {
      expect(scene).toMatchObject({ model: SCENE_MODEL, input: { prompt: "On a wooden table", input_image: job.layout["1"]!.output!.cutout_url, aspect_ratio: "4:5", output_format: "png" } });
    }
    expect(scenes.map((scene) => (scene!.input as { seed: number }).seed).sort()).toEqual([5, 6, 7]);
    expect(upscale).toMatchObject({ model: UPSCALE_MODEL, input: { image: job.layout["2"]!.output!.scene_url, scale: 2, face_enhance: false } });
    expect(job.result).toEqual({ image_url: expect.stringMatching(new RegExp(`/image/upload/v\\d+/montage/jobs/${jobId}/3-upscale\\.png$`)) });
    // The upload ran once: its asset on Cloudinary is the photo, stored before the outage.
    expect(stack.cloudinary.asset("image", `montage/jobs/${jobId}/0-upload`)?.bytes.equals(stack.photo)).toBe(true);
    expect(runtime().providers.gate.snapshot().replicate?.state).not.toBe("open");
  });

  it("Product Shots with the other background remover: no 851-labs-only inputs are sent to it", async () => {
    const before = stack.replicate.predictions.size;
    const { jobId } = await execute({ workflow_id: "product-shots", photo: jpegBlob(stack.photo, "image/png"), "models[background_removal]": "lucataco/remove-bg", auto_pick: "true" });
    await waitForJob(jobId, "completed");
    const [cutout] = predictionsSince(stack.replicate, before);
    expect(cutout!.model).toBe("lucataco/remove-bg");
    expect(Object.keys(cutout!.input as object)).toEqual(["image"]);
  });
});
