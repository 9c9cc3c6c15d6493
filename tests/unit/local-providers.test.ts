/**
 * The embedded default providers, for real: sharp, the bundled ffmpeg and temp directories; nothing mocked.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { classifyError, HardError, RetryableError, isRetryableError } from "@/lib/workflows/errors";
import { closeGate, FaultSwitch, gateFile, openGate, parseFaultSpec } from "@/lib/providers/local/faults";
import { describeEdit, editImage } from "@/lib/providers/local/image-edit";
import { LOCAL_MODELS, LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import { generateVideo, resolveFfmpegPath } from "@/lib/providers/local/video";
import type { ModelRunRequest } from "@/lib/providers/types";

const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");
const BASE_URL = "http://localhost:3000";

let tempDir: string;
let photoJpg: Buffer;
let photoPng: Buffer;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), "montage-local-providers-"));
  photoJpg = await readFile(path.join(FIXTURES, "photo.jpg"));
  photoPng = await readFile(path.join(FIXTURES, "photo.png"));
});

afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function newStorage(name: string, options: { faults?: FaultSwitch; publicBaseUrl?: string } = {}): LocalStorage {
  return new LocalStorage({ rootDir: path.join(tempDir, name), publicBaseUrl: BASE_URL, ...options });
}

async function meanPixelDifference(a: Buffer, b: Buffer): Promise<number> {
  const raw = (input: Buffer) => sharp(input).resize(160, 120, { fit: "fill" }).removeAlpha().raw().toBuffer();
  const [x, y] = await Promise.all([raw(a), raw(b)]);
  let total = 0;
  for (let i = 0; i < x.length; i++) total += Math.abs((x[i] ?? 0) - (y[i] ?? 0));
  return total / x.length;
}

interface VideoFacts {
  durationSeconds: number;
  codec: string;
  pixelFormat: string;
  width: number;
  height: number;
  fps: number;
}

/** ffprobe's job done with the bundled ffmpeg: `ffmpeg -i` prints the container and stream facts. */
async function probeVideo(video: Buffer): Promise<VideoFacts> {
  const file = path.join(tempDir, `probe-${Date.now()}-${Math.random().toString(36).slice(2)}.mp4`);
  await writeFile(file, video);
  const { stderr } = spawnSync(await resolveFfmpegPath(), ["-hide_banner", "-i", file], { encoding: "utf8" });
  await rm(file);
  const duration = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr);
  const stream = /Video: (\w+).*?, (\w+)(?:\([^)]*\))?, (\d+)x(\d+).*?, ([\d.]+) fps/.exec(stderr);
  if (!duration || !stream) throw new Error(`unexpected ffmpeg -i output:\n${stderr}`);
  return {
    durationSeconds: Number(duration[1]) * 3600 + Number(duration[2]) * 60 + Number(duration[3]),
    codec: stream[1] ?? "",
    pixelFormat: stream[2] ?? "",
    width: Number(stream[3]),
    height: Number(stream[4]),
    fps: Number(stream[5]),
  };
}

function expectFaststartMp4(video: Buffer): void {
  expect(video.subarray(4, 8).toString("latin1")).toBe("ftyp");
  const moov = video.indexOf("moov", 0, "latin1");
  const mdat = video.indexOf("mdat", 0, "latin1");
  expect(moov).toBeGreaterThan(0);
  expect(moov).toBeLessThan(mdat);
}

// Finding our ffmpeg child needs Linux's /proc; elsewhere the abort test checks timing only.
const HAS_PROC = existsSync("/proc/self/status");

/** Our own ffmpeg children, by pid, with the temp dir they write into. */
async function ownFfmpegChildren(): Promise<{ pid: number; workDir: string }[]> {
  const found: { pid: number; workDir: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = await readFile(`/proc/${entry}/status`, "utf8");
      if (!status.includes(`PPid:\t${process.pid}\n`)) continue;
      if (!(await readlink(`/proc/${entry}/exe`)).includes("ffmpeg")) continue;
      const args = (await readFile(`/proc/${entry}/cmdline`, "utf8")).split("\0");
      const output = args.find((arg) => arg.endsWith("out.mp4"));
      if (output) found.push({ pid: Number(entry), workDir: path.dirname(output) });
    } catch {
      // The process exited while we looked.
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("LocalStorage", () => {
  it("puts media under rootDir and reads it back by its URL or key", async () => {
    const storage = newStorage("roundtrip");
    const key = "jobs/job_1/1-image_edit.png";
    const stored = await storage.put({ key, body: photoPng, contentType: "image/png", resourceType: "image" });

    expect(stored).toEqual({
      url: `${BASE_URL}/files/jobs/job_1/1-image_edit.png`,
      key,
      contentType: "image/png",
      bytes: photoPng.length,
    });
    expect(await readFile(path.join(tempDir, "roundtrip", "jobs", "job_1", "1-image_edit.png"))).toEqual(photoPng);
    expect(await storage.read(stored.url)).toEqual({ body: photoPng, contentType: "image/png" });
    expect((await storage.read(key)).contentType).toBe("image/png");
    expect(storage.keyFromUrl(`${stored.url}?token=abc`)).toBe(key);
    expect(await storage.locate(key)).toEqual({
      filePath: storage.resolvePath(key),
      contentType: "image/png",
      bytes: photoPng.length,
    });
    expect(await storage.locate("jobs/job_1/missing.png")).toBeNull();
  });

  it("overwrites atomically and leaves no temp files", async () => {
    const storage = newStorage("overwrite");
    const key = "jobs/job_2/2-video.mp4";
    await storage.put({ key, body: Buffer.from("first"), contentType: "video/mp4", resourceType: "video" });
    const second = await storage.put({ key, body: Buffer.from("second"), contentType: "video/mp4", resourceType: "video" });

    expect(await storage.read(second.url)).toEqual({ body: Buffer.from("second"), contentType: "video/mp4" });
    expect(await readdir(path.join(tempDir, "overwrite", "jobs", "job_2"))).toEqual(["2-video.mp4"]);
  });

  it("honours a base path in publicBaseUrl", async () => {
    const storage = newStorage("base-path", { publicBaseUrl: "https://example.com/montage/" });
    const stored = await storage.put({ key: "a/b.jpg", body: photoJpg, contentType: "image/jpeg", resourceType: "image" });

    expect(stored.url).toBe("https://example.com/montage/files/a/b.jpg");
    expect((await storage.read(stored.url)).contentType).toBe("image/jpeg");
    expect(await caught(storage.read("https://example.com/files/a/b.jpg"))).toMatchObject({ code: "invalid_key" });
  });

  it.each([
    "../outside.png",
    "jobs/../../etc/passwd",
    "/etc/passwd",
    "jobs//x.png",
    "jobs/x.png/",
    ".hidden",
    "jobs/./x.png",
    "jobs/x y.png",
    "jobs\\..\\x.png",
    "",
  ])("refuses the key %j", async (key) => {
    const storage = newStorage("refuse");
    const error = await caught(storage.put({ key, body: Buffer.from("x"), contentType: "image/png", resourceType: "image" }));
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "invalid_key", provider: "local-storage" });
    expect(existsSync(path.join(tempDir, "outside.png"))).toBe(false);
  });

  it.each([
    `${BASE_URL}/files/..%2F..%2Fetc%2Fpasswd`,
    `${BASE_URL}/files/jobs/%2e%2e/%2e%2e/x.png`,
    `${BASE_URL}/files/%2Fetc%2Fpasswd`,
    `${BASE_URL}/other/x.png`,
    "file:///etc/passwd",
    "../x.png",
  ])("refuses to read %s", async (url) => {
    const error = await caught(newStorage("refuse").read(url));
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "invalid_key" });
  });

  it("reads its own files by path whatever the origin, since APP_URL may change while jobs are parked", async () => {
    const storage = newStorage("origin");
    const stored = await storage.put({ key: "jobs/a/0-upload.png", body: Buffer.from("png"), contentType: "image/png", resourceType: "image" });
    const moved = stored.url.replace(new URL(stored.url).origin, "http://montage.example:8080");
    await expect(storage.read(moved)).resolves.toMatchObject({ body: Buffer.from("png") });
  });

  it("reports missing media as not_found", async () => {
    const error = await caught(newStorage("missing").read(`${BASE_URL}/files/jobs/none.png`));
    expect(error).toMatchObject({ name: "HardError", code: "not_found", provider: "local-storage" });
  });

  it("is healthy when rootDir is writable and says why when not", async () => {
    expect(await newStorage("health").checkHealth()).toEqual({ healthy: true });
    await writeFile(path.join(tempDir, "a-file"), "not a directory");
    const broken = new LocalStorage({ rootDir: path.join(tempDir, "a-file", "media"), publicBaseUrl: BASE_URL });
    const health = await broken.checkHealth();
    expect(health.healthy).toBe(false);
    expect(health.detail).toMatch(/not writable \(ENOTDIR\)/);
  });

  it("applies storage faults to put", async () => {
    const storage = newStorage("faults", { faults: new FaultSwitch("storage:outage") });
    const request = { key: "x.png", body: photoPng, contentType: "image/png", resourceType: "image" } as const;
    expect(await caught(storage.put(request))).toMatchObject({ name: "RetryableError", reason: "outage", provider: "local-storage" });
    expect((await storage.put(request)).bytes).toBe(photoPng.length);
  });
});

describe("fault switch", () => {
  it("parses valid specs", () => {
    expect(parseFaultSpec("")).toEqual([]);
    expect(parseFaultSpec(" , ")).toEqual([]);
    expect(parseFaultSpec("image_edit:quota:2, video:slow=50 ,storage:rate_limit,*:hard,video:slow=0:3")).toEqual([
      { target: "image_edit", kind: "quota", times: 2 },
      { target: "video", kind: "slow", delayMs: 50, times: undefined },
      { target: "storage", kind: "rate_limit", times: 1 },
      { target: "*", kind: "hard", times: 1 },
      { target: "video", kind: "slow", delayMs: 0, times: 3 },
    ]);
    expect(parseFaultSpec("image_edit:gate,storage:gate:1")).toEqual([
      { target: "image_edit", kind: "gate", times: undefined },
      { target: "storage", kind: "gate", times: 1 },
    ]);
  });

  it.each([
    ["image_edit", /wrong number/],
    ["image_edit:quota:1:2", /wrong number/],
    ["images:quota", /unknown target "images"/],
    ["video:explode", /unknown fault "explode"/],
    ["video:quota:0", /times "0"/],
    ["video:quota:x", /times "x"/],
    ["video:slow=abc", /slow delay "abc"/],
    ["video:slow", /unknown fault "slow"/],
    ["video:slow=99999999", /slow delay/],
    ["video:gate=5", /unknown fault "gate=5"/],
    ["video:gate:0", /times "0"/],
  ])("rejects %j", (spec, why) => {
    expect(() => parseFaultSpec(spec)).toThrow(why);
    expect(() => parseFaultSpec(spec)).toThrow(/<target>:<fault>\[:<times>\].*slow=<ms>/);
  });

  it("fails the first N calls of its target, then succeeds", async () => {
    const faults = new FaultSwitch("image_edit:quota:2");
    const call = (target: "image_edit" | "video") => faults.apply(target, { provider: "local-models" });

    await expect(call("video")).resolves.toBeUndefined();
    for (let i = 0; i < 2; i++) {
      const error = await caught(call("image_edit"));
      expect(error).toBeInstanceOf(RetryableError);
      expect(error).toMatchObject({ reason: "quota", provider: "local-models" });
      expect((error as Error).message).toBe(
        "Quota exceeded: you have insufficient credit to run this model (local fault switch)",
      );
    }
    await expect(call("image_edit")).resolves.toBeUndefined();
  });

  it("throws the error class and reason each fault stands for", async () => {
    const apply = (spec: string) => caught(new FaultSwitch(spec).apply("video", { provider: "replicate-like" }));

    for (const reason of ["outage", "auth", "timeout"] as const) {
      const error = await apply(`video:${reason}`);
      expect(error).toBeInstanceOf(RetryableError);
      expect(classifyError(error)).toMatchObject({ kind: "retryable", reason, provider: "replicate-like" });
    }
    expect(await apply("video:rate_limit")).toMatchObject({ reason: "rate_limit", retryAfterSeconds: 1 });
    const hard = await apply("*:hard");
    expect(hard).toBeInstanceOf(HardError);
    expect(classifyError(hard)).toMatchObject({ kind: "hard", code: "content_rejected", provider: "replicate-like" });
  });

  it("plays rules for one target in order and counts * across targets", async () => {
    const faults = new FaultSwitch("video:rate_limit:2,video:quota,*:outage:2");
    const reasons: string[] = [];
    for (const target of ["video", "video", "video", "storage", "video", "image_edit", "video"] as const) {
      const error = await faults.apply(target, { provider: "p" }).then(
        () => undefined,
        (e: unknown) => e,
      );
      reasons.push(isRetryableError(error) ? error.reason : "ok");
    }
    expect(reasons).toEqual(["rate_limit", "rate_limit", "quota", "outage", "outage", "ok", "ok"]);
  });

  it("slows calls and stops waiting when aborted", async () => {
    const faults = new FaultSwitch("video:slow=150:1,storage:slow=10000");
    let started = performance.now();
    await faults.apply("video", { provider: "p" });
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    started = performance.now();
    await faults.apply("video", { provider: "p" });
    expect(performance.now() - started).toBeLessThan(50);

    const controller = new AbortController();
    const reason = new Error("job canceled");
    setTimeout(() => controller.abort(reason), 50);
    started = performance.now();
    expect(await caught(faults.apply("storage", { provider: "p", signal: controller.signal }))).toBe(reason);
    expect(performance.now() - started).toBeLessThan(1000);
  });
});

describe("gate fault", () => {
  let gateDir: string;
  beforeAll(() => {
    gateDir = path.join(tempDir, "gates");
  });

  /** The promise's state so far, to check that a held call is still held. */
  function track(promise: Promise<void>): { settled: boolean; done: Promise<void> } {
    const state = { settled: false, done: promise };
    state.done = promise.finally(() => {
      state.settled = true;
    });
    return state;
  }
  /** Lets every pending callback and a few event-loop turns run (a held call must stay held through them). */
  const turns = () => new Promise((resolve) => setTimeout(resolve, 50));

  it("holds a call until a file created by another process opens its gate", async () => {
    closeGate(gateDir, "video");
    const faults = new FaultSwitch("video:gate", { gateDir });

    const held = track(faults.apply("video", { provider: "p" }));
    await faults.apply("storage", { provider: "p" });
    await turns();
    expect(held.settled).toBe(false);

    const opener = spawnSync(process.execPath, ["-e", `require("node:fs").writeFileSync(${JSON.stringify(gateFile(gateDir, "video"))}, "")`]);
    expect(opener.status).toBe(0);
    await held.done;

    // Open: later calls pass. Closed again: the next call is held again.
    await faults.apply("video", { provider: "p" });
    closeGate(gateDir, "video");
    const again = track(faults.apply("video", { provider: "p" }));
    await turns();
    expect(again.settled).toBe(false);
    openGate(gateDir, "video");
    await again.done;
    closeGate(gateDir, "video");
  });

  it("holds only the first `times` calls, and a * gate waits for the called target's own file", async () => {
    for (const target of ["image_edit", "storage"] as const) closeGate(gateDir, target);
    const faults = new FaultSwitch("image_edit:gate:1,*:gate,video:quota:1", { gateDir });

    const first = track(faults.apply("image_edit", { provider: "p" }));
    const upload = track(faults.apply("storage", { provider: "p" }));
    openGate(gateDir, "image_edit");
    await first.done;
    await turns();
    expect(upload.settled).toBe(false);

    openGate(gateDir, "storage");
    await upload.done;
    // The gate holds, then the failure rules still apply.
    openGate(gateDir, "video");
    expect(await caught(faults.apply("video", { provider: "p" }))).toMatchObject({ reason: "quota" });
    for (const target of ["image_edit", "storage", "video"] as const) closeGate(gateDir, target);
  });

  it("lets a held call go when its signal aborts (a cancel), with the abort's reason", async () => {
    closeGate(gateDir, "image_edit");
    const faults = new FaultSwitch("image_edit:gate", { gateDir });
    const controller = new AbortController();
    const reason = new Error("job canceled");

    const held = faults.apply("image_edit", { provider: "p", signal: controller.signal });
    controller.abort(reason);

    expect(await caught(held)).toBe(reason);
    expect(await caught(faults.apply("image_edit", { provider: "p", signal: controller.signal }))).toBe(reason);
  });

  it("needs a gate folder", () => {
    expect(() => new FaultSwitch("video:gate")).toThrow(/gate fault but no gate folder/);
  });
});

describe("editImage", () => {
  it("returns a decodable PNG that differs from the input", async () => {
    const output = await editImage(photoJpg, "make it black and white and cinematic");
    const meta = await sharp(output).metadata();

    expect(output.subarray(1, 4).toString("latin1")).toBe("PNG");
    expect(meta).toMatchObject({ format: "png", width: 640, height: 480 });
    expect(await meanPixelDifference(photoJpg, output)).toBeGreaterThan(10);
  });

  it("gives visibly different images for different prompts, the same for the same prompt", async () => {
    const prompts = ["sepia", "night sky", "mirror the scene", "add a cat astronaut", "add a hat", "vivid and sharp"];
    expect(describeEdit("add a cat astronaut")[0]).toMatch(/^tint\(\d+\)$/);
    const outputs = await Promise.all(prompts.map((prompt) => editImage(photoPng, prompt)));
    for (let i = 0; i < outputs.length; i++) {
      expect(await meanPixelDifference(photoPng, outputs[i] as Buffer)).toBeGreaterThan(5);
      for (let j = i + 1; j < outputs.length; j++) {
        expect(await meanPixelDifference(outputs[i] as Buffer, outputs[j] as Buffer), `${prompts[i]} vs ${prompts[j]}`).toBeGreaterThan(5);
      }
    }
    expect(await editImage(photoPng, "add a hat")).toEqual(outputs[4]);
  });

  it("auto-orients, caps the long side and accepts alpha and 16-bit input", async () => {
    const rotated = await sharp(photoJpg).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(await sharp(await editImage(rotated, "bright")).metadata()).toMatchObject({ width: 480, height: 640 });

    const huge = await sharp({ create: { width: 2000, height: 1000, channels: 4, background: "#3366ff80" } })
      .png()
      .toBuffer();
    expect(await sharp(await editImage(huge, "warm")).metadata()).toMatchObject({ width: 1280, height: 640, channels: 3 });

    const deep = await sharp(photoPng).toColourspace("rgb16").png().toBuffer();
    expect(await sharp(await editImage(deep, "cool")).metadata()).toMatchObject({ width: 320, height: 240, depth: "uchar" });
  });

  it("rejects undecodable input as invalid_input", async () => {
    const error = await caught(editImage(Buffer.from("definitely not an image"), "sepia"));
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "invalid_input" });
  });
});

describe("generateVideo", () => {
  it("renders a real H.264 MP4 of the requested duration and reports progress", async () => {
    const progress: number[] = [];
    const video = await generateVideo(photoJpg, "slow pan right over the hills", {
      signal: new AbortController().signal,
      durationSeconds: 2,
      onProgress: (percent) => {
        progress.push(percent);
      },
    });

    expectFaststartMp4(video);
    const facts = await probeVideo(video);
    expect(facts).toMatchObject({ codec: "h264", pixelFormat: "yuv420p", width: 640, height: 480, fps: 25 });
    expect(facts.durationSeconds).toBeCloseTo(2, 1);
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.at(-1)).toBe(100);
    expect([...progress].sort((a, b) => a - b)).toEqual(progress);
  });

  it("kills ffmpeg on abort, rejects with the abort reason and cleans up", async () => {
    const controller = new AbortController();
    const reason = new Error("job canceled");
    let child: { pid: number; workDir: string } | undefined;
    let abortedAt = 0;

    const error = await caught(
      generateVideo(photoJpg, "zoom out", {
        signal: controller.signal,
        durationSeconds: 30,
        onProgress: async () => {
          if (abortedAt) return;
          if (HAS_PROC) [child] = await ownFfmpegChildren();
          abortedAt = performance.now();
          controller.abort(reason);
        },
      }),
    );

    // Rendering the rest of the 30 s clip would take seconds; a killed ffmpeg ends at once.
    expect(performance.now() - abortedAt).toBeLessThan(1500);
    expect(error).toBe(reason);
    if (HAS_PROC) {
      expect(child).toBeDefined();
      expect(isAlive(child?.pid ?? 0)).toBe(false);
      expect(existsSync(child?.workDir ?? "/")).toBe(false);
    }
  });

  it("stops ffmpeg when the progress callback fails", async () => {
    const failure = new Error("progress store down");
    let failedAt = 0;
    const error = await caught(
      generateVideo(photoJpg, "pan up", {
        signal: new AbortController().signal,
        durationSeconds: 30,
        onProgress: () => {
          failedAt ||= performance.now();
          throw failure;
        },
      }),
    );
    expect(error).toBe(failure);
    expect(performance.now() - failedAt).toBeLessThan(1500);
  });

  it("rejects undecodable images, bad durations and a missing ffmpeg", async () => {
    const options = { signal: new AbortController().signal, onProgress: () => undefined };
    expect(await caught(generateVideo(Buffer.from("nope"), "x", options))).toMatchObject({ code: "invalid_input" });
    expect(await caught(generateVideo(photoPng, "x", { ...options, durationSeconds: 0 }))).toMatchObject({
      code: "invalid_input",
    });
    const missing = await caught(generateVideo(photoPng, "x", { ...options, ffmpegPath: "/nonexistent/ffmpeg" }));
    expect((missing as Error).message).toMatch(/Could not start ffmpeg at \/nonexistent\/ffmpeg/);
  });
});

describe("LocalModels", () => {
  function setup(spec = "") {
    const storage = newStorage("models");
    const models = new LocalModels({ readMedia: (url, signal) => storage.read(url, signal), faults: new FaultSwitch(spec) });
    return { storage, models };
  }

  function runRequest(model: string, input: Record<string, unknown>, progress: number[] = []): ModelRunRequest {
    return {
      model,
      input,
      jobId: "job_models",
      stepIndex: 1,
      signal: new AbortController().signal,
      onProgress: async (percent) => {
        progress.push(percent);
      },
      state: { get: () => undefined, save: async () => undefined },
    };
  }

  it("lists the models it runs locally", () => {
    expect(LOCAL_MODELS).toEqual({
      "google/nano-banana": "image_edit",
      "minimax/video-01": "video",
      "black-forest-labs/flux-schnell": "text_to_image",
      "black-forest-labs/flux-dev": "text_to_image",
      "851-labs/background-remover": "background_removal",
      "lucataco/remove-bg": "background_removal",
      "black-forest-labs/flux-kontext-pro": "scene",
      "nightmareai/real-esrgan": "upscale",
    });
  });

  it("edits an image with google/nano-banana (image_input or image)", async () => {
    const { storage, models } = setup();
    const { url } = await storage.put({ key: "in/photo.jpg", body: photoJpg, contentType: "image/jpeg", resourceType: "image" });
    const progress: number[] = [];

    const output = await models.run(runRequest("google/nano-banana", { prompt: "sepia", image_input: [url] }, progress));
    expect(output.contentType).toBe("image/png");
    expect(await sharp(output.body).metadata()).toMatchObject({ format: "png", width: 640, height: 480 });
    expect(progress.at(-1)).toBe(100);

    const viaImage = await models.run(runRequest("google/nano-banana", { prompt: "sepia", image: url }));
    expect(viaImage.body).toEqual(output.body);
  });

  it("renders a 4-second video with minimax/video-01 by default", async () => {
    const { storage, models } = setup();
    const { url } = await storage.put({ key: "in/frame.png", body: photoPng, contentType: "image/png", resourceType: "image" });
    const progress: number[] = [];

    const output = await models.run(runRequest("minimax/video-01", { prompt: "zoom in", first_frame_image: url }, progress));
    expect(output.contentType).toBe("video/mp4");
    expectFaststartMp4(output.body);
    const facts = await probeVideo(output.body);
    expect(facts.codec).toBe("h264");
    expect(facts.durationSeconds).toBeCloseTo(4, 1);
    // A long side already within 240..720 px is kept.
    expect(Math.max(facts.width, facts.height)).toBe(320);
    expect(progress.at(-1)).toBe(100);
  });

  it("refuses unknown models and bad inputs with HardErrors", async () => {
    const { storage, models } = setup();
    const { url } = await storage.put({ key: "in/garbage.png", body: Buffer.from("garbage"), contentType: "image/png", resourceType: "image" });
    const fail = (model: string, input: Record<string, unknown>) => caught(models.run(runRequest(model, input)));

    const unknown = await fail("black-forest-labs/flux", { prompt: "x" });
    expect(unknown).toMatchObject({ code: "unsupported_model", provider: "local-models" });
    expect((unknown as Error).message).toContain("google/nano-banana, minimax/video-01");

    for (const input of [{ image_input: [url] }, { prompt: " ", image_input: [url] }, { prompt: "x" }, { prompt: "x", image_input: [] }]) {
      expect(await fail("google/nano-banana", input)).toMatchObject({ code: "invalid_input", provider: "local-models" });
    }
    expect(await fail("minimax/video-01", { prompt: "x", image: url })).toMatchObject({ code: "invalid_input" });

    const undecodable = await fail("google/nano-banana", { prompt: "x", image_input: [url] });
    expect(undecodable).toBeInstanceOf(HardError);
    expect(undecodable).toMatchObject({ code: "invalid_input", provider: "local-models" });
  });

  it("applies faults for the model's capability before running", async () => {
    const { storage, models } = setup("image_edit:rate_limit");
    const { url } = await storage.put({ key: "in/photo.png", body: photoPng, contentType: "image/png", resourceType: "image" });
    const request = runRequest("google/nano-banana", { prompt: "bright", image_input: [url] });

    expect(await caught(models.run(request))).toMatchObject({
      name: "RetryableError",
      reason: "rate_limit",
      retryAfterSeconds: 1,
      provider: "local-models",
    });
    expect((await models.run(request)).contentType).toBe("image/png");
    expect(await models.checkHealth()).toEqual({ healthy: true });
  });
});
