import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FaultSwitch } from "@/lib/providers/local/faults";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import { removeBackground, renderFromPrompt, upscale, withSubjectInset } from "@/lib/providers/local/stills";
import type { ModelRunRequest } from "@/lib/providers/types";

/**
 * The local stand-ins of Text to Video's and Product Shots' models: real images, deterministic,
 * with each model's Replicate input names, and the fault switch in front of each.
 */
let tempDir: string;

beforeAll(async () => {
  tempDir = await mkdtemp(path.join(os.tmpdir(), "montage-stills-"));
});

afterAll(async () => {
  await rm(tempDir, { recursive: true, force: true });
});

/** A product on a plain backdrop: a dark red box on off-white. */
function productPhoto(): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="300" height="200"><rect width="300" height="200" fill="#f4f4f2"/><rect x="100" y="40" width="100" height="120" fill="#8e1c12"/></svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 92 }).toBuffer();
}

function setup(spec = "") {
  const storage = new LocalStorage({ rootDir: path.join(tempDir, `s-${Math.random().toString(36).slice(2)}`), publicBaseUrl: "http://localhost:3999" });
  const models = new LocalModels({ readMedia: (url, signal) => storage.read(url, signal), faults: new FaultSwitch(spec) });
  return { storage, models };
}

function request(model: string, input: Record<string, unknown>): ModelRunRequest {
  return { model, input, jobId: "job_stills", stepIndex: 1, signal: new AbortController().signal, onProgress: async () => undefined, state: { get: () => undefined, save: async () => undefined } };
}

describe("local still-image stand-ins", () => {
  it("renders an image from prompt and seed: same inputs same bytes, another seed or prompt another image, at the aspect ratio", async () => {
    const a = await renderFromPrompt("a lighthouse at dusk", 42, "16:9");
    expect(a.equals(await renderFromPrompt("a lighthouse at dusk", 42, "16:9"))).toBe(true);
    expect(a.equals(await renderFromPrompt("a lighthouse at dusk", 43, "16:9"))).toBe(false);
    expect(a.equals(await renderFromPrompt("a forest", 42, "16:9"))).toBe(false);
    expect(await sharp(a).metadata()).toMatchObject({ format: "png", width: 768, height: 432 });
    expect(await sharp(await renderFromPrompt("x", 1, "9:16", "webp")).metadata()).toMatchObject({ format: "webp", width: 432, height: 768 });
    // Not a flat fill: the picture has structure.
    const stats = await sharp(a).stats();
    expect(Math.max(...stats.channels.map((channel) => channel.stdev)), JSON.stringify(stats.channels.map((c) => c.stdev))).toBeGreaterThan(10);
  });

  it("removes a plain backdrop into a real alpha cutout, keeping the product opaque", async () => {
    const { data, info } = await sharp(await removeBackground(await productPhoto())).raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 300, height: 200, channels: 4 });
    const alpha = (x: number, y: number) => data[(y * info.width + x) * 4 + 3];
    expect([alpha(5, 5), alpha(295, 195), alpha(150, 100)]).toEqual([0, 0, 255]);
  });

  it("insets video-01's subject_reference into the first frame's lower right corner, leaving the rest of the frame as it was", async () => {
    const frame = await sharp({ create: { width: 400, height: 300, channels: 3, background: "#204060" } }).png().toBuffer();
    const reference = await sharp({ create: { width: 50, height: 80, channels: 3, background: "#ff00ff" } }).png().toBuffer();
    const { data, info } = await sharp(await withSubjectInset(frame, reference)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect(info).toMatchObject({ width: 400, height: 300 });
    const pixel = (x: number, y: number) => [...data.subarray((y * info.width + x) * 3, (y * info.width + x) * 3 + 3)];
    // The inset is a fifth of the width (80 px) plus its frame, 10 px from the corner.
    expect(pixel(345, 245)).toEqual([255, 0, 255]);
    expect(pixel(10, 10)).toEqual([0x20, 0x40, 0x60]);
    await expect(withSubjectInset(frame, Buffer.from("not an image"))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("subject_reference") });
  });

  it("doubles the resolution (scale 2), keeping the alpha; refuses a result past the pixel limit", async () => {
    const cutout = await removeBackground(await productPhoto());
    const large = await sharp(await upscale(cutout, 2)).metadata();
    expect(large).toMatchObject({ width: 600, height: 400, hasAlpha: true });
    await expect(upscale(cutout, 10)).resolves.toBeInstanceOf(Buffer);
    const huge = await sharp({ create: { width: 2000, height: 2000, channels: 3, background: "#fff" } }).png().toBuffer();
    await expect(upscale(huge, 4)).rejects.toMatchObject({ code: "invalid_input" });
  });

  it("runs the models by their Replicate ids and input names, and the fault switch covers each", async () => {
    const { storage, models } = setup("text_to_image:quota:1,background_removal:outage:1,scene:rate_limit:1,upscale:timeout:1");
    const { url } = await storage.put({ key: "in/product.jpg", body: await productPhoto(), contentType: "image/jpeg", resourceType: "image" });
    const runs: [string, Record<string, unknown>, string][] = [
      ["black-forest-labs/flux-schnell", { prompt: "a fox", aspect_ratio: "1:1", seed: 3, output_format: "png" }, "quota"],
      ["851-labs/background-remover", { image: url }, "outage"],
      ["black-forest-labs/flux-kontext-pro", { prompt: "on a table", input_image: url, aspect_ratio: "4:5", seed: 1 }, "rate_limit"],
      ["nightmareai/real-esrgan", { image: url, scale: 2 }, "timeout"],
    ];
    for (const [model, input, reason] of runs) {
      await expect(models.run(request(model, input))).rejects.toMatchObject({ name: "RetryableError", reason, provider: "local-models" });
      const output = await models.run(request(model, input));
      expect(output).toMatchObject({ contentType: "image/png", usage: { free: true } });
    }
    const scene = await models.run(request("black-forest-labs/flux-kontext-pro", { prompt: "on a table", input_image: url, aspect_ratio: "4:5", seed: 1 }));
    expect(await sharp(scene.body).metadata()).toMatchObject({ width: 614, height: 768 });
    const upscaled = await models.run(request("nightmareai/real-esrgan", { image: url, scale: 2 }));
    expect(await sharp(upscaled.body).metadata()).toMatchObject({ width: 600, height: 400 });
  });

  it("refuses missing or malformed inputs as the models would, before any work", async () => {
    const { models } = setup();
    await expect(models.run(request("black-forest-labs/flux-schnell", { aspect_ratio: "1:1" }))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining('"prompt"') });
    await expect(models.run(request("black-forest-labs/flux-schnell", { prompt: "x", aspect_ratio: "7:3" }))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining("aspect_ratio") });
    await expect(models.run(request("black-forest-labs/flux-schnell", { prompt: "x", seed: -1 }))).rejects.toMatchObject({ code: "invalid_input" });
    await expect(models.run(request("851-labs/background-remover", {}))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining('"image"') });
    await expect(models.run(request("black-forest-labs/flux-kontext-pro", { prompt: "x" }))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining('"input_image"') });
    await expect(models.run(request("minimax/video-01", { prompt: "x", first_frame_image: "/files/a.png", subject_reference: 7 }))).rejects.toMatchObject({ code: "invalid_input", message: expect.stringContaining('"subject_reference"') });
  });
});
