/**
 * Image Edit to Video on the production providers, end to end: the real `replicate` and `cloudinary`
 * SDKs against the local fakes (REPLICATE_BASE_URL, CLOUDINARY_URL with upload_prefix), through the
 * real engine (createJob and the in-process runner) on real SQLite, and PostgreSQL for the happy path.
 * Parked jobs are resumed by driving the retry sweep with a `now` in the future, never by sleeping.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { loadConfig } from "@/lib/config";
import { cancelJob } from "@/lib/jobs/service";
import { silentLogger } from "@/lib/log";
import { createProviders } from "@/lib/providers";
import { CloudinaryStorage } from "@/lib/providers/cloudinary/storage";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import { ReplicateModels } from "@/lib/providers/replicate/models";
import { runtime } from "@/lib/server/runtime";
import {
  createUser,
  creationsOf,
  IMAGE_MODEL,
  loadJob,
  predictionIdOf,
  predictionsSince,
  startImageToVideo,
  startProductionStack,
  sweepAt,
  VIDEO_MODEL,
  waitForJob,
  type ProductionStack,
} from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

let stack: ProductionStack;
let database: TestDatabase | undefined;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await closeTestEnvironment(); // stops the last driver, closes the last database
  await database?.drop();
  await stack.stop();
});

beforeEach(() => {
  stack.replicate.clearFailures();
  stack.cloudinary.clearFailures();
  stack.replicate.completeAfter = { polls: 2 };
  stack.replicate.resetAfterCreate = 0;
});

/** A database of the test's own (the sweep sees only its jobs), a fresh process on it, and a user. */
async function freshProcess(overrides: Record<string, string> = {}, provider: Provider = "sqlite"): Promise<string> {
  const previous = database;
  database = await createTestDatabase(provider);
  await restartProcess(overrides); // also stops the previous test's driver and disconnects its client
  await previous?.drop();
  return createUser();
}

/** A new process on the same database, as far as Montage can tell: a new runtime (config, database connections, providers and their circuits, driver). */
async function restartProcess(overrides: Record<string, string> = {}): Promise<void> {
  await useTestEnvironment(database!, stack.env(overrides));
}

describe("provider selection", () => {
  const base = { DATA_DIR: "/tmp/montage-selection", LOG_LEVEL: "silent" };
  const select = (env: Record<string, string>) => createProviders(loadConfig({ ...base, ...env }), silentLogger);
  const token = { REPLICATE_API_TOKEN: "r8_selection0123456789" };
  const cloudinaryUrl = { CLOUDINARY_URL: "cloudinary://123:secret@cloud" };

  it("uses each production provider when its variable is set, independently, else the local one", () => {
    const local = select({});
    expect([local.storage, local.models, local.replicate]).toEqual([expect.any(LocalStorage), expect.any(LocalModels), undefined]);
    const storageOnly = select(cloudinaryUrl);
    expect([storageOnly.storage, storageOnly.models]).toEqual([expect.any(CloudinaryStorage), expect.any(LocalModels)]);
    const modelsOnly = select(token);
    expect([modelsOnly.storage, modelsOnly.models]).toEqual([expect.any(LocalStorage), expect.any(ReplicateModels)]);
    const both = select({ ...token, ...cloudinaryUrl });
    expect([both.storage.name, both.models.name]).toEqual(["cloudinary", "replicate"]);
  });

  it("asks for webhooks only when APP_URL is https, unless REPLICATE_WEBHOOKS says otherwise", () => {
    const webhookUrl = (env: Record<string, string>) => select({ ...token, ...env }).replicate?.models.webhookUrl;
    expect(webhookUrl({ APP_URL: "https://montage.example.com/" })).toBe("https://montage.example.com/api/webhooks/replicate");
    expect(webhookUrl({ APP_URL: "http://localhost:3000" })).toBeUndefined();
    expect(webhookUrl({ APP_URL: "http://10.0.0.5:3000", REPLICATE_WEBHOOKS: "on" })).toBe("http://10.0.0.5:3000/api/webhooks/replicate");
    expect(webhookUrl({ APP_URL: "https://montage.example.com", REPLICATE_WEBHOOKS: "off" })).toBeUndefined();
    expect(webhookUrl({})).toBeUndefined();
  });

  it("refuses plain-http API endpoints except on this machine", () => {
    expect(() => select({ ...token, REPLICATE_BASE_URL: "http://replicate-proxy.internal/v1" })).toThrow(/REPLICATE_BASE_URL must be an https URL/);
    expect(() => select({ CLOUDINARY_URL: "cloudinary://1:s@c?upload_prefix=http://api.example.com" })).toThrow(/upload_prefix must be an https URL/);
    expect(select({ ...token, REPLICATE_BASE_URL: "http://127.0.0.1:4010/v1" }).models.name).toBe("replicate");
  });

  it("refuses plain-http and loopback downloads unless OUTPUT_FETCH_ALLOW_INSECURE is set (tests only)", async () => {
    const strict = select({ ...cloudinaryUrl, OUTPUT_FETCH_ALLOWED_HOSTS: stack.cloudinary.host });
    await expect(strict.storage.read(`${stack.cloudinary.origin}/cloud/image/upload/v1/x.png`)).rejects.toMatchObject({ code: "output_refused" });
  });
});

describe("Image Edit to Video on Replicate and Cloudinary", () => {
  it("completes with every output on Cloudinary, never on Replicate", async () => {
    const userId = await freshProcess();
    const before = stack.replicate.predictions.size;
    const jobId = await startImageToVideo(userId, stack.photo);
    const job = await waitForJob(jobId, "completed");

    const { cloudinary, replicate } = stack;
    const result = job.result as Record<string, string>;
    expect(result.video_url).toMatch(new RegExp(`^${cloudinary.origin}/${cloudinary.cloudName}/video/upload/v\\d+/montage/jobs/${jobId}/2-video_generation\\.mp4$`));
    expect(JSON.stringify([job.result, job.layout])).not.toContain(replicate.origin);
    expect(job.layout["1"]?.output?.edited_image_url).toMatch(/\/image\/upload\/v\d+\/montage\/jobs\/.+\/1-image_edit\.png$/);
    expect(cloudinary.asset("image", `montage/jobs/${jobId}/0-upload`)?.bytes.equals(stack.photo)).toBe(true);
    expect(cloudinary.asset("video", `montage/jobs/${jobId}/2-video_generation`)?.bytes.equals(stack.video)).toBe(true);

    // One prediction per model; each got the Cloudinary URL of the step before.
    const created = predictionsSince(replicate, before);
    expect(created.map((prediction) => prediction.model)).toEqual([IMAGE_MODEL, VIDEO_MODEL]);
    const [image, video] = created as [(typeof created)[0], (typeof created)[0]];
    expect(image.input).toMatchObject({ prompt: "Make it golden hour", output_format: "png", image_input: [job.layout["0"]?.output?.image_url] });
    expect(video.input).toMatchObject({ prompt: "Slow push-in", prompt_optimizer: true, first_frame_image: job.layout["1"]?.output?.edited_image_url });
    // APP_URL is plain http here and REPLICATE_WEBHOOKS=auto: no webhook was asked for, the run polled.
    expect(image.webhook).toBeUndefined();
    expect(job.events.map((event) => event.type)).toContain("complete");
  });

  it("with local storage, sends Replicate the media as data URIs and keeps results on Montage's own URLs", async () => {
    const userId = await freshProcess({ CLOUDINARY_URL: "" });
    const before = stack.replicate.predictions.size;
    const jobId = await startImageToVideo(userId, stack.photo);
    const job = await waitForJob(jobId, "completed");

    expect((job.result as Record<string, string>).video_url).toBe(`http://localhost:3999/files/jobs/${jobId}/2-video_generation.mp4`);
    const [image, video] = predictionsSince(stack.replicate, before).map((prediction) => prediction.input) as [
      { image_input: string[] },
      { first_frame_image: string },
    ];
    expect(image.image_input[0]).toBe(`data:image/png;base64,${stack.photo.toString("base64")}`);
    expect(video.first_frame_image).toMatch(/^data:image\/png;base64,/);
  });
});

describe("error mapping: the job state and message of each Replicate failure", () => {
  it("401 parks the job (auth) and opens the circuit; it resumes once GET /account checks out again", async () => {
    const userId = await freshProcess();
    stack.replicate.fail({ route: "*", status: 401 });
    const first = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(first, "pending_retry");
    expect(parked).toMatchObject({ errorCode: "auth", error: "Replicate create prediction failed (401): You did not pass a valid authentication token" });
    expect(parked.execution).toMatchObject({ retryCount: 1, lastErrorProvider: "replicate", lastErrorReason: "auth" });
    expect(runtime().providers.gate.snapshot().replicate).toMatchObject({ state: "open", reason: "auth" });

    // A job started while the circuit is open parks without reaching Replicate or spending an attempt.
    const requestsBefore = stack.replicate.requests.length;
    const second = await startImageToVideo(userId, stack.photo);
    const refused = await waitForJob(second, "pending_retry");
    expect(refused.errorCode).toBe("auth");
    expect(refused.error).toMatch(/^replicate is unavailable \(auth\) since .*; this run waits for it to recover, without spending an attempt: /);
    expect(refused.execution.retryCount).toBe(0);
    expect(stack.replicate.requests.length).toBe(requestsBefore);

    // The sweep probes GET /account: still 401, so both stay parked.
    const now = Date.now();
    const stillDown = await sweepAt(new Date(now + 3600_000));
    expect(stillDown).toMatchObject({ due: 2, resumed: [], deferred: 2 });
    expect((await loadJob(first))?.status).toBe("pending_retry");

    stack.replicate.clearFailures();
    const recovered = await sweepAt(new Date(now + 2 * 3600_000));
    expect(recovered.resumed.sort()).toEqual([first, second].sort());
    await waitForJob(first, "completed");
    await waitForJob(second, "completed");
  });

  it("402 parks the job (quota) and resumes after a probe, with a single trial step first", async () => {
    const userId = await freshProcess();
    stack.replicate.fail({ route: "create", status: 402 });
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.errorCode).toBe("quota");
    expect(parked.error).toMatch(/^Replicate create prediction failed \(402\): You have insufficient credit to run this model/);
    expect(runtime().providers.gate.snapshot().replicate).toMatchObject({ state: "open", reason: "quota" });

    stack.replicate.clearFailures();
    expect((await sweepAt()).resumed).toEqual([jobId]);
    expect(runtime().providers.gate.snapshot().replicate).toMatchObject({ state: "recovering", wave: { cap: 1 } });
    await waitForJob(jobId, "completed");
  });

  it("429 parks the job (rate_limit) until Retry-After has passed, without opening the circuit", async () => {
    const userId = await freshProcess();
    stack.replicate.fail({ route: "create", status: 429, retryAfter: "900" });
    const startedAt = Date.now();
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.errorCode).toBe("rate_limit");
    expect(parked.error).toMatch(/\(429\): Request was throttled/);
    // The backoff alone would be 240-360 s; the provider asked for 900.
    expect(parked.nextRetryAt!.getTime()).toBeGreaterThanOrEqual(startedAt + 900_000);
    expect(runtime().providers.gate.snapshot().replicate?.state ?? "closed").toBe("closed");

    stack.replicate.clearFailures();
    expect((await sweepAt(new Date(startedAt + 600_000))).due).toBe(0);
    expect((await sweepAt(new Date(startedAt + 901_000))).resumed).toEqual([jobId]);
    await waitForJob(jobId, "completed");
  });

  it("a 5xx parks the job (outage) with backoff and it resumes when the fake recovers", async () => {
    const userId = await freshProcess();
    stack.replicate.fail({ route: "create", status: 503 });
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.errorCode).toBe("outage");
    expect(parked.error).toMatch(/^Replicate create prediction failed \(503\)/);
    expect(parked.nextRetryAt!.getTime()).toBeGreaterThan(Date.now() + 200_000);

    stack.replicate.clearFailures();
    expect((await sweepAt()).resumed).toEqual([jobId]);
    await waitForJob(jobId, "completed");
  });

  it("422 fails the job with Replicate's own message", async () => {
    const userId = await freshProcess();
    stack.replicate.fail({ route: "create", status: 422, detail: "- input.image_input.0: Does not match format 'uri'\n" });
    const jobId = await startImageToVideo(userId, stack.photo);
    const failed = await waitForJob(jobId, "failed");
    expect(failed).toMatchObject({ errorCode: "invalid_input", error: "- input.image_input.0: Does not match format 'uri'" });
    expect(failed.events.at(-1)).toMatchObject({ type: "error", data: { status: "failed", code: "invalid_input" } });
  });

  it("a prediction that ends failed fails the job with Replicate's error text", async () => {
    const userId = await freshProcess();
    stack.replicate.script({ status: "failed", error: "CUDA out of memory. Tried to allocate 2.00 GiB" });
    const jobId = await startImageToVideo(userId, stack.photo);
    const failed = await waitForJob(jobId, "failed");
    expect(failed).toMatchObject({ errorCode: "prediction_failed", error: "CUDA out of memory. Tried to allocate 2.00 GiB" });
  });

  it("a prediction rejected for its content fails the job as content_rejected", async () => {
    const userId = await freshProcess();
    const text = "The input or output was flagged as sensitive. Please try again with different inputs. (E005)";
    stack.replicate.script({ status: "failed", error: text });
    const failed = await waitForJob(await startImageToVideo(userId, stack.photo), "failed");
    expect(failed).toMatchObject({ errorCode: "content_rejected", error: text });
  });

  it("a prediction canceled at Replicate ends the job canceled", async () => {
    const userId = await freshProcess();
    stack.replicate.script({ status: "canceled" });
    const jobId = await startImageToVideo(userId, stack.photo);
    const canceled = await waitForJob(jobId, "canceled");
    expect(canceled.errorCode).toBe("canceled");
    expect(canceled.error).toBe(`Replicate prediction ${predictionIdOf(canceled, 1)} was canceled`);
  });

  it("an aborted prediction (never started) parks the job (timeout); the retry runs a fresh prediction", async () => {
    const userId = await freshProcess();
    const before = creationsOf(stack.replicate, IMAGE_MODEL);
    stack.replicate.script({ status: "aborted" });
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    const abortedId = predictionIdOf(parked, 1)!;
    expect(parked).toMatchObject({ errorCode: "timeout", error: `Replicate aborted prediction ${abortedId} before it started` });

    expect((await sweepAt()).resumed).toEqual([jobId]);
    const done = await waitForJob(jobId, "completed");
    expect(predictionIdOf(done, 1)).not.toBe(abortedId);
    expect(creationsOf(stack.replicate, IMAGE_MODEL) - before).toBe(2);
  });

  it("a lost create answer parks the job (outage) and never sends the create again", async () => {
    const userId = await freshProcess();
    const before = stack.replicate.creations;
    stack.replicate.resetAfterCreate = 1;
    const parked = await waitForJob(await startImageToVideo(userId, stack.photo), "pending_retry");
    expect(parked.errorCode).toBe("outage");
    expect(stack.replicate.creations - before).toBe(1);
  });
});

describe("error mapping: Cloudinary", () => {
  it("401 parks the job (auth); it resumes once the Admin API ping succeeds", async () => {
    const userId = await freshProcess();
    stack.cloudinary.fail({ route: "*", status: 401, message: "Invalid api_key 123456789012345" });
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked).toMatchObject({ errorCode: "auth", error: "Cloudinary upload failed (401): Invalid api_key 123456789012345" });
    expect(parked.execution.lastErrorProvider).toBe("cloudinary");

    expect((await sweepAt(new Date(Date.now() + 3600_000))).deferred).toBe(1);
    stack.cloudinary.clearFailures();
    expect((await sweepAt(new Date(Date.now() + 2 * 3600_000))).resumed).toEqual([jobId]);
    await waitForJob(jobId, "completed");
  });

  it("420 parks the job (rate_limit); 400 fails it with Cloudinary's message", async () => {
    const userId = await freshProcess();
    stack.cloudinary.fail({ route: "upload", status: 420, times: 1 });
    expect((await waitForJob(await startImageToVideo(userId, stack.photo), "pending_retry")).errorCode).toBe("rate_limit");

    stack.cloudinary.fail({ route: "upload", status: 400, times: 1 });
    const failed = await waitForJob(await startImageToVideo(userId, stack.photo), "failed");
    expect(failed).toMatchObject({ errorCode: "invalid_input", error: "Invalid image file" });
  });
});

describe("health gate", () => {
  it("releases parked jobs to a recovered provider in bounded waves", async () => {
    const userId = await freshProcess({ PROVIDER_RECOVERY_WAVE_SIZE: "2" });
    stack.replicate.fail({ route: "*", status: 401 });
    const jobs: string[] = [];
    for (let i = 0; i < 3; i++) {
      jobs.push(await startImageToVideo(userId, stack.photo));
      await waitForJob(jobs[i]!, "pending_retry");
    }
    stack.replicate.clearFailures();
    // The admitted jobs' predictions take a while, so the third job arrives while they are still
    // running on Replicate (an idle provider would take it at once, wave or not).
    stack.replicate.completeAfter = { ms: 1500 };

    const now = Date.now();
    expect((await sweepAt(new Date(now + 3600_000))).resumed).toHaveLength(3);
    const settled = await Promise.all(jobs.map((jobId) => waitForJob(jobId, (job) => job.status === "completed" || job.status === "pending_retry")));
    const waiting = settled.filter((job) => job.status === "pending_retry");
    expect(settled.filter((job) => job.status === "completed")).toHaveLength(2);
    expect(waiting).toHaveLength(1);
    expect(waiting[0]!.error).toMatch(/^replicate is back after being unavailable \(auth\) and takes runs a few at a time: \d other runs? (is|are) using it now/);
    expect(waiting[0]!.errorCode).toBe("rate_limit");
    expect(waiting[0]!.execution.retryCount).toBeLessThanOrEqual(1); // the wave cap spends no attempt

    // While this wave is full the sweep leaves the rest parked; the next wave (a sweep interval later) takes it.
    expect(await sweepAt(new Date(now + 2 * 3600_000))).toMatchObject({ due: 1, resumed: [], deferred: 1 });
    expect(runtime().providers.gate.snapshot().replicate).toMatchObject({ state: "recovering", wave: { index: 0, cap: 2, admitted: 2 } });
  });
});

describe("no step ever pays twice", () => {
  it("a crash between 'prediction created' and 'prediction completed' re-attaches: one prediction", async () => {
    const userId = await freshProcess();
    stack.replicate.completeAfter = { polls: 1_000_000 };
    const before = creationsOf(stack.replicate, IMAGE_MODEL);
    const jobId = await startImageToVideo(userId, stack.photo);
    const created = await waitForJob(jobId, (job) => predictionIdOf(job, 1) !== undefined);
    const predictionId = predictionIdOf(created, 1)!;

    // The process stops (InterruptedError "shutdown"): the step is interrupted, its prediction left running.
    await runtime().driver.stop();
    const interrupted = await loadJob(jobId);
    expect(interrupted?.status).toBe("running");
    expect(stack.replicate.cancellations).not.toContain(predictionId);

    // A new process starts; its runner adopts the orphaned execution and re-attaches.
    await restartProcess();
    await runtime().driver.start();
    await waitForJob(jobId, (job) => job.events.some((event) => JSON.stringify(event.data).includes(`Re-attached to Replicate prediction ${predictionId}`)));
    stack.replicate.completeAfter = { polls: 2 };
    stack.replicate.finish(predictionId);
    const done = await waitForJob(jobId, "completed");

    expect(creationsOf(stack.replicate, IMAGE_MODEL) - before).toBe(1);
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("succeeded");
    expect(done.layout["1"]?.output?.edited_image_url).toMatch(/1-image_edit\.png$/);
  });
});

describe("cancel", () => {
  it("canceling a running job cancels its prediction (the abort path of the running step)", async () => {
    const userId = await freshProcess();
    stack.replicate.completeAfter = { polls: 1_000_000 };
    const jobId = await startImageToVideo(userId, stack.photo);
    const running = await waitForJob(jobId, (job) => predictionIdOf(job, 1) !== undefined);
    const predictionId = predictionIdOf(running, 1)!;

    await cancelJob(runtime(), userId, jobId);
    const canceled = await waitForJob(jobId, (job) => job.status === "canceled" && job.layout["1"]?.status === "canceled");
    expect(canceled.error).toBe("Canceled by user");
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("canceled");
  });

  it("canceling a parked job cancels the prediction saved in its checkpoint", async () => {
    const userId = await freshProcess();
    stack.replicate.completeAfter = { polls: 1_000_000 };
    // Polling fails (after the SDK's own retries): the job parks with the prediction still running.
    stack.replicate.fail({ route: "get", status: 503 });
    const jobId = await startImageToVideo(userId, stack.photo);
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.errorCode).toBe("outage");
    const predictionId = predictionIdOf(parked, 1)!;
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("starting");

    await cancelJob(runtime(), userId, jobId);
    expect(stack.replicate.cancellations).toContain(predictionId);
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("canceled");
    expect((await loadJob(jobId))?.status).toBe("canceled");
  });
});

describe("PostgreSQL", () => {
  it("Image Edit to Video completes with its result on Cloudinary", async () => {
    const userId = await freshProcess({}, "postgresql");
    const jobId = await startImageToVideo(userId, stack.photo);
    const job = await waitForJob(jobId, "completed");
    expect((job.result as Record<string, string>).video_url).toMatch(new RegExp(`^${stack.cloudinary.origin}/.+/video/upload/`));
  });
});
