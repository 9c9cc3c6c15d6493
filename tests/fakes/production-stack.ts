/**
 * Montage's production providers pointed at the local fakes, for end-to-end tests: both fakes
 * started, the environment that selects them (honestly: the real SDKs read REPLICATE_BASE_URL and
 * CLOUDINARY_URL's upload_prefix; plain-http downloads from 127.0.0.1 need the test-only
 * OUTPUT_FETCH_ALLOW_INSECURE), and small helpers to run Image Edit to Video through the real engine.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ffmpeg from "@ffmpeg-installer/ffmpeg";

import type { Checkpoints } from "@/lib/contract/events";
import { sweepDueJobs } from "@/lib/engine/sweep";
import { createJob } from "@/lib/jobs/service";
import { runtime } from "@/lib/server/runtime";
import { checkpointLayout } from "@/lib/store/checkpoints";
import { CloudinaryFake } from "./cloudinary-fake";
import { ReplicateFake } from "./replicate-fake";

export const IMAGE_MODEL = "google/nano-banana";
export const VIDEO_MODEL = "minimax/video-01";
/** The models of Text to Video and Product Shots, with the inputs their Replicate schemas require. */
export const TEXT_TO_IMAGE_MODELS = ["black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"];
export const BACKGROUND_MODELS = ["851-labs/background-remover", "lucataco/remove-bg"];
export const SCENE_MODEL = "black-forest-labs/flux-kontext-pro";
export const UPSCALE_MODEL = "nightmareai/real-esrgan";
const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");

export interface ProductionStack {
  replicate: ReplicateFake;
  cloudinary: CloudinaryFake;
  photo: Buffer;
  video: Buffer;
  /** The environment selecting both production providers against the fakes; `overrides` win ("" unsets). */
  env(overrides?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

export async function startProductionStack(): Promise<ProductionStack> {
  const photo = await readFile(path.join(FIXTURES, "photo.png"));
  const video = await makeVideo();
  const replicate = await new ReplicateFake({
    requiredInputs: {
      [IMAGE_MODEL]: ["prompt", "image_input"],
      [VIDEO_MODEL]: ["prompt", "first_frame_image"],
      ...Object.fromEntries(TEXT_TO_IMAGE_MODELS.map((model) => [model, ["prompt"]])),
      ...Object.fromEntries(BACKGROUND_MODELS.map((model) => [model, ["image"]])),
      [SCENE_MODEL]: ["prompt"],
      [UPSCALE_MODEL]: ["image"],
    },
    modelOutputs: {
      [IMAGE_MODEL]: { body: photo, contentType: "image/png", filename: "output.png" },
      [VIDEO_MODEL]: { body: video, contentType: "video/mp4", filename: "output.mp4" },
      ...Object.fromEntries([...TEXT_TO_IMAGE_MODELS, ...BACKGROUND_MODELS, SCENE_MODEL, UPSCALE_MODEL].map((model) => [model, { body: photo, contentType: "image/png", filename: "output.png" }])),
    },
    // flux's output schema is an array of URLs; the others answer one URL.
    listOutputs: TEXT_TO_IMAGE_MODELS,
  }).start();
  const cloudinary = await new CloudinaryFake().start();
  return {
    replicate,
    cloudinary,
    photo,
    video,
    env: (overrides = {}) => ({
      REPLICATE_API_TOKEN: replicate.token,
      REPLICATE_BASE_URL: replicate.baseUrl,
      REPLICATE_POLL_INTERVAL_MS: "10",
      REPLICATE_WEBHOOK_SECRET: "",
      REPLICATE_WEBHOOKS: "auto",
      CLOUDINARY_URL: cloudinary.cloudinaryUrl,
      OUTPUT_FETCH_ALLOWED_HOSTS: `${replicate.deliveryHost},${cloudinary.host}`,
      OUTPUT_FETCH_ALLOW_INSECURE: "1",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      PROVIDER_RECOVERY_WAVE_SIZE: "5",
      LOCAL_PROVIDER_FAULTS: "",
      APP_URL: "http://localhost:3999",
      ...overrides,
    }),
    async stop() {
      await Promise.all([replicate.stop(), cloudinary.stop()]);
    },
  };
}

/** A real (tiny) H.264 mp4, so the Cloudinary fake's video check passes on real bytes. */
async function makeVideo(): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "montage-video-"));
  try {
    const file = path.join(dir, "clip.mp4");
    await promisify(execFile)(ffmpeg.path, [
      "-loglevel", "error", "-f", "lavfi", "-i", "color=c=orange:s=64x64:d=0.2", "-pix_fmt", "yuv420p", "-y", file,
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function createUser(): Promise<string> {
  const user = await runtime().prisma.user.create({ data: { email: `user-${Math.random().toString(36).slice(2)}@example.com` } });
  return user.id;
}

/** Creates an Image Edit to Video job through the service, on the installed runtime; its in-process driver starts it at once. */
export async function startImageToVideo(userId: string, photo: Buffer): Promise<string> {
  const rt = runtime();
  const workflow = rt.findWorkflow("img-edit-to-video");
  if (!workflow) throw new Error("img-edit-to-video is not installed");
  const { jobId } = await createJob(rt, {
    userId,
    workflow,
    inputs: { edit_prompt: "Make it golden hour", video_prompt: "Slow push-in" },
    upload: { filename: "photo.png", contentType: "image/png", data: photo, width: 320, height: 240 },
  });
  return jobId;
}

export type JobRow = NonNullable<Awaited<ReturnType<typeof loadJob>>>;

/** A job as the store reads it, its checkpoints in the note's layout, and its events (oldest first, data parsed). */
export async function loadJob(jobId: string) {
  const { store } = runtime();
  const job = await store.getJob(jobId);
  if (!job) return undefined;
  const events = (await store.readEvents(jobId, 0, 100_000)).map((event) => ({ id: event.id, type: event.type, data: JSON.parse(event.json) as Record<string, unknown> }));
  return { ...job, layout: checkpointLayout(job.checkpoints) as Checkpoints, events };
}

/** Polls the database until the job satisfies `done` (a status, or a predicate). */
export async function waitForJob(jobId: string, done: string | ((job: JobRow) => boolean), timeoutMs = 30_000): Promise<JobRow> {
  const predicate = typeof done === "string" ? (job: JobRow) => job.status === done : done;
  const deadline = Date.now() + timeoutMs;
  let last: JobRow | undefined;
  for (;;) {
    last = await loadJob(jobId);
    if (last && predicate(last)) return last;
    if (Date.now() > deadline) {
      throw new Error(`job ${jobId} did not get there in ${timeoutMs} ms; it is ${last?.status} (${last?.errorCode}: ${last?.error})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
}

/** The saved prediction id of a step, once its checkpoint holds one. */
export function predictionIdOf(job: JobRow, step: number): string | undefined {
  const id = job.layout[String(step)]?.state?.predictionId;
  return typeof id === "string" ? id : undefined;
}

/**
 * One retry sweep of the installed runtime as if run at `now` (default: a day from now, so every
 * parked job is due), through the providers' health gate; the jobs it resumes are handed to the
 * driver, as the runner's tick does. `resumed` lists their ids.
 */
export async function sweepAt(now = new Date(Date.now() + 24 * 60 * 60_000)): Promise<{ due: number; resumed: string[]; deferred: number }> {
  const rt = runtime();
  const result = await sweepDueJobs({
    store: rt.store,
    batchSize: 50,
    checkHealth: (name) => rt.checkHealth(name),
    recheckSeconds: 300,
    logger: rt.logger,
    now,
  });
  for (const job of result.resumed) await rt.driver.enqueue(job.id);
  return { ...result, resumed: result.resumed.map((job) => job.id) };
}

/** Predictions the fake created for a model. */
export function creationsOf(replicate: ReplicateFake, model: string): number {
  return [...replicate.predictions.values()].filter((prediction) => prediction.json.model === model).length;
}

/** The predictions created after the fake held `count` of them, oldest first (as JSON). */
export function predictionsSince(replicate: ReplicateFake, count: number) {
  return [...replicate.predictions.values()].slice(count).map((prediction) => prediction.json);
}
