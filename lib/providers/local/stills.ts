import "server-only";
/**
 * Local stand-ins for the still-image models of Text to Video and Product Shots, doing real,
 * deterministic image work with sharp (no network, no weights):
 * - `renderFromPrompt`: an image derived from the prompt and the seed (a palette and a layout of
 *   soft shapes chosen by their hash), at the requested aspect ratio; the same prompt and seed
 *   give the same bytes, another seed another picture;
 * - `removeBackground`: a real alpha cutout: the background colour is estimated from the border
 *   and every pixel's opacity follows its colour distance from it (a studio photo's subject stays,
 *   its backdrop goes);
 * - `placeInScene`: the cutout composited, with a soft shadow, onto a scene rendered from the prompt;
 * - `upscale`: the resolution multiplied by `scale` (Lanczos, then a light sharpen).
 * They are stand-ins: they show that the pipeline moves real media, not what a model would paint.
 */
import { createHash } from "node:crypto";
import sharp, { type Metadata, type Sharp } from "sharp";
import { HardError } from "@/lib/workflows/errors";

/** The aspect ratios the local renderer takes (flux-schnell's list). */
export const ASPECT_RATIOS: Record<string, [number, number]> = {
  "1:1": [1, 1],
  "16:9": [16, 9],
  "9:16": [9, 16],
  "4:3": [4, 3],
  "3:4": [3, 4],
  "3:2": [3, 2],
  "2:3": [2, 3],
  "4:5": [4, 5],
  "5:4": [5, 4],
  "21:9": [21, 9],
  "9:21": [9, 21],
};

/** The long side of a rendered image: small enough to be quick, big enough to look at. */
const RENDER_LONG_SIDE = 768;
/** Upscaling refuses to make an image larger than this many pixels (a real model has limits too). */
export const MAX_UPSCALED_PIXELS = 16_000_000;

export function renderSize(aspectRatio: string): { width: number; height: number } {
  const ratio = ASPECT_RATIOS[aspectRatio];
  if (!ratio) throw new HardError("invalid_input", `aspect_ratio must be one of ${Object.keys(ASPECT_RATIOS).join(", ")}, not ${JSON.stringify(aspectRatio.slice(0, 20))}`);
  const [w, h] = ratio;
  // Even sides: video encoders (the next step) need them.
  const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);
  return w >= h ? { width: RENDER_LONG_SIDE, height: even((RENDER_LONG_SIDE * h) / w) } : { width: even((RENDER_LONG_SIDE * w) / h), height: RENDER_LONG_SIDE };
}

/** A deterministic stream of numbers in [0, 1) from the prompt and the seed. */
function randomFrom(prompt: string, seed: number): () => number {
  let counter = 0;
  return () => {
    const digest = createHash("sha256").update(`${seed}\0${prompt}\0${counter++}`).digest();
    return digest.readUInt32BE(0) / 0x1_0000_0000;
  };
}

function hsl(hue: number, saturation: number, lightness: number): string {
  return `hsl(${Math.round(hue)} ${Math.round(saturation)}% ${Math.round(lightness)}%)`;
}

/** The picture as SVG: a two-colour gradient sky, a horizon, and soft shapes, all chosen by the hash. */
function sceneSvg(prompt: string, seed: number, width: number, height: number): string {
  const random = randomFrom(prompt.trim().toLowerCase(), seed);
  const hue = random() * 360;
  const accent = (hue + 120 + random() * 120) % 360;
  const horizon = height * (0.45 + random() * 0.25);
  const shapes: string[] = [];
  const count = 5 + Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const cx = random() * width;
    const cy = random() * horizon;
    const r = (0.04 + random() * 0.16) * Math.min(width, height);
    shapes.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${r.toFixed(1)}" fill="${hsl(accent + random() * 60, 60 + random() * 30, 55 + random() * 30)}" fill-opacity="${(0.25 + random() * 0.5).toFixed(2)}"/>`);
  }
  const hills: string[] = [];
  for (let i = 0; i < 3; i++) {
    const top = horizon + i * (height - horizon) * 0.2 - random() * height * 0.08;
    const mid = random() * width;
    hills.push(`<path d="M0 ${height} L0 ${top.toFixed(1)} Q ${mid.toFixed(1)} ${(top - height * 0.15).toFixed(1)} ${width} ${(top + random() * 20).toFixed(1)} L${width} ${height} Z" fill="${hsl(hue + 180 + i * 15, 35 + i * 10, 30 - i * 7)}"/>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
<defs><linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="${hsl(hue, 70, 35)}"/><stop offset="1" stop-color="${hsl(hue + 40, 80, 75)}"/></linearGradient></defs>
<rect width="${width}" height="${height}" fill="url(#sky)"/>${shapes.join("")}${hills.join("")}
</svg>`;
}

export type StillFormat = "png" | "webp" | "jpg";

function encode(image: Sharp, format: StillFormat): Promise<Buffer> {
  if (format === "webp") return image.webp({ quality: 90 }).toBuffer();
  if (format === "jpg") return image.jpeg({ quality: 90 }).toBuffer();
  return image.png({ compressionLevel: 6 }).toBuffer();
}

/** Renders the prompt's picture for this seed at the aspect ratio. Deterministic per (prompt, seed, ratio, format). */
export async function renderFromPrompt(prompt: string, seed: number, aspectRatio: string, format: StillFormat = "png"): Promise<Buffer> {
  const { width, height } = renderSize(aspectRatio);
  return encode(sharp(Buffer.from(sceneSvg(prompt, seed, width, height))), format);
}

async function decodeRgba(input: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  try {
    const { data, info } = await sharp(input).autoOrient().resize({ width: 1280, height: 1280, fit: "inside", withoutEnlargement: true }).toColourspace("srgb").ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    return { data, width: info.width, height: info.height };
  } catch (error) {
    throw new HardError("invalid_input", `Input image could not be decoded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

/** The median of each channel over the image's border pixels: the backdrop's colour. */
function borderColour(data: Buffer, width: number, height: number): [number, number, number] {
  const reds: number[] = [];
  const greens: number[] = [];
  const blues: number[] = [];
  const take = (x: number, y: number) => {
    const i = (y * width + x) * 4;
    reds.push(data[i]!);
    greens.push(data[i + 1]!);
    blues.push(data[i + 2]!);
  };
  for (let x = 0; x < width; x++) {
    take(x, 0);
    take(x, height - 1);
  }
  for (let y = 1; y < height - 1; y++) {
    take(0, y);
    take(width - 1, y);
  }
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return [median(reds), median(greens), median(blues)];
}

/**
 * A PNG whose alpha keeps the subject and drops the backdrop: a pixel close in colour to the
 * border's median is transparent, a distant one opaque, with a soft ramp between (no hard halo).
 */
export async function removeBackground(input: Buffer): Promise<Buffer> {
  const { data, width, height } = await decodeRgba(input);
  const [r0, g0, b0] = borderColour(data, width, height);
  const near = 28;
  const far = 90;
  for (let i = 0; i < data.length; i += 4) {
    const distance = Math.hypot(data[i]! - r0, data[i + 1]! - g0, data[i + 2]! - b0);
    const t = Math.min(1, Math.max(0, (distance - near) / (far - near)));
    data[i + 3] = Math.round(data[i + 3]! * t * t * (3 - 2 * t));
  }
  return sharp(data, { raw: { width, height, channels: 4 } }).png({ compressionLevel: 6 }).toBuffer();
}

/** The cutout (alpha kept) centred on the lower part of a scene rendered from the prompt, with a soft shadow. */
export async function placeInScene(cutout: Buffer, prompt: string, seed: number, aspectRatio: string): Promise<Buffer> {
  const { width, height } = renderSize(aspectRatio);
  const background = await sharp(Buffer.from(sceneSvg(prompt, seed, width, height))).png().toBuffer();
  let subject: Buffer;
  try {
    // The cutout's transparent margin is trimmed first, so the product (not its old frame) stands on the ground.
    const trimmed = await sharp(cutout).ensureAlpha().trim({ threshold: 8 }).png().toBuffer().catch(() => sharp(cutout).ensureAlpha().png().toBuffer());
    subject = await sharp(trimmed).resize({ width: Math.round(width * 0.5), height: Math.round(height * 0.55), fit: "inside" }).png().toBuffer();
  } catch (error) {
    throw new HardError("invalid_input", `Input image could not be decoded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const meta = await sharp(subject).metadata();
  const left = Math.round((width - meta.width) / 2);
  const top = Math.max(0, Math.round(height * 0.9 - meta.height));
  // A soft elliptical shadow where the product meets the ground.
  const shadowHeight = Math.max(8, Math.round(meta.height * 0.1));
  const shadowSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="${meta.width}" height="${shadowHeight * 2}"><ellipse cx="${meta.width / 2}" cy="${shadowHeight}" rx="${meta.width * 0.45}" ry="${shadowHeight / 2}" fill="black" fill-opacity="0.45"/></svg>`;
  const shadow = await sharp(Buffer.from(shadowSvg)).blur(4).png().toBuffer();
  return sharp(background)
    .composite([
      { input: shadow, left, top: Math.min(height - shadowHeight * 2, top + meta.height - shadowHeight) },
      { input: subject, left, top },
    ])
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** The image `scale` times larger on each side (alpha kept), as a PNG. */
export async function upscale(input: Buffer, scale: number): Promise<Buffer> {
  if (!Number.isFinite(scale) || scale < 1 || scale > 10) throw new HardError("invalid_input", `scale must be from 1 to 10, not ${scale}`);
  let meta: Metadata;
  let oriented: Buffer;
  try {
    oriented = await sharp(input).autoOrient().png().toBuffer();
    meta = await sharp(oriented).metadata();
  } catch (error) {
    throw new HardError("invalid_input", `Input image could not be decoded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const width = Math.round(meta.width * scale);
  const height = Math.round(meta.height * scale);
  if (width * height > MAX_UPSCALED_PIXELS) throw new HardError("invalid_input", `The upscaled image would be ${width}×${height}, more than ${MAX_UPSCALED_PIXELS} pixels`);
  return sharp(oriented).resize({ width, height, kernel: "lanczos3" }).sharpen({ sigma: 0.6 }).png({ compressionLevel: 6 }).toBuffer();
}

/**
 * The stand-in for video-01's `subject_reference`: the reference is inset into the first frame's
 * lower right corner (a fifth of its width, framed), so the character is visibly in the video. The
 * real model keeps the face or character through the motion; this only proves the image arrived.
 */
export async function withSubjectInset(frame: Buffer, reference: Buffer): Promise<Buffer> {
  let base: Buffer;
  let meta: Metadata;
  let inset: Buffer;
  try {
    base = await sharp(frame).autoOrient().png().toBuffer();
    meta = await sharp(base).metadata();
    const side = Math.max(16, Math.round(meta.width / 5));
    inset = await sharp(reference).autoOrient().resize({ width: side, height: side, fit: "cover" }).extend({ top: 3, bottom: 3, left: 3, right: 3, background: "#ffffff" }).png().toBuffer();
  } catch (error) {
    throw new HardError("invalid_input", `subject_reference could not be decoded: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
  const insetMeta = await sharp(inset).metadata();
  const margin = Math.round(meta.width / 40);
  return sharp(base)
    .composite([{ input: inset, left: Math.max(0, meta.width - insetMeta.width - margin), top: Math.max(0, meta.height - insetMeta.height - margin) }])
    .png()
    .toBuffer();
}
