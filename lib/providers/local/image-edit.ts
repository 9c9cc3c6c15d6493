import "server-only";
/**
 * The local stand-in for an image-edit model: a real, deterministic sharp edit chosen from the
 * prompt's keywords, so the whole pipeline produces genuinely new media without any network.
 */
import { createHash } from "node:crypto";
import sharp from "sharp";
import type { OutputInfo, Sharp } from "sharp";
import { HardError } from "@/lib/workflows/errors";

const MAX_LONG_SIDE = 1280;

interface Size {
  width: number;
  height: number;
}

interface EditOperation {
  name: string;
  matches(prompt: string): boolean;
  apply(image: Sharp, size: Size): Sharp;
}

const words = (pattern: string) => {
  const regex = new RegExp(`\\b(?:${pattern})\\b`);
  return (prompt: string) => regex.test(prompt);
};

const LUMA = [0.2126, 0.7152, 0.0722] as const;

// Listed in the order they are applied: geometry, colour, tone, detail, framing last.
const OPERATIONS: EditOperation[] = [
  {
    name: "flip",
    matches: (p) => /\b(?:flip(?:ped)?|upside[ -]down)\b/.test(p) && !/\bhorizontal(?:ly)?\b/.test(p),
    apply: (image) => image.flip(),
  },
  {
    name: "mirror",
    matches: (p) => /\b(?:mirror(?:ed)?|flop)\b/.test(p) || /\bflip\w*\s+(?:it\s+)?horizontal(?:ly)?\b/.test(p),
    apply: (image) => image.flop(),
  },
  {
    name: "grayscale",
    matches: words("black[ -]?and[ -]?white|b&w|grayscale|greyscale|monochrome"),
    apply: (image) => image.recomb([[...LUMA], [...LUMA], [...LUMA]]),
  },
  {
    name: "sepia",
    matches: words("sepia|vintage|retro|antique"),
    apply: (image) =>
      image.recomb([
        [0.393, 0.769, 0.189],
        [0.349, 0.686, 0.168],
        [0.272, 0.534, 0.131],
      ]),
  },
  {
    name: "warm",
    matches: words("warm|warmer|sunset|golden"),
    apply: (image) => image.linear([1.08, 1.0, 0.82], [10, 2, -6]),
  },
  {
    name: "cool",
    matches: words("cool|cooler|cold|blue|icy"),
    apply: (image) => image.linear([0.86, 0.97, 1.12], [-6, 0, 14]),
  },
  {
    name: "night",
    matches: words("night|nighttime|midnight"),
    apply: (image) => image.linear([0.55, 0.65, 0.9], [0, 2, 16]),
  },
  {
    name: "bright",
    matches: words("bright|brighter|brighten|sunny|airy"),
    apply: (image) => image.modulate({ brightness: 1.25 }),
  },
  {
    name: "dark",
    matches: words("dark|darker|darken|moody|gloomy|noir"),
    apply: (image) => image.modulate({ brightness: 0.7, saturation: 0.85 }).linear(1.15, -10),
  },
  {
    name: "vivid",
    matches: words("vivid|saturated|vibrant|colou?rful"),
    apply: (image) => image.modulate({ saturation: 1.6 }).linear(1.08, -10),
  },
  {
    name: "blur",
    matches: words("blur|blurry|blurred|dreamy|soft|hazy"),
    apply: (image) => image.blur(4),
  },
  {
    name: "sharpen",
    matches: words("sharp|sharper|sharpen|detailed|crisp"),
    apply: (image) => image.sharpen({ sigma: 1.5, m1: 1, m2: 3 }),
  },
  {
    name: "cinematic",
    matches: words("cinematic|film|movie|widescreen|letterbox(?:ed)?"),
    apply: (image, { width, height }) => {
      // Bars that crop the frame to 2.39:1 (at least 8% of the height each, so they always show).
      const bar = Math.max(Math.round((height - width / 2.39) / 2), Math.round(height * 0.08), 1);
      const black = { create: { width, height: bar, channels: 3 as const, background: "#000000" } };
      return image.linear(1.2, -25.6).composite([
        { input: black, top: 0, left: 0 },
        { input: black, top: Math.max(height - bar, 0), left: 0 },
      ]);
    },
  },
];

/** Used when no keyword matches: a hue shift and colour cast fixed by the prompt's hash. */
function hashTint(prompt: string): EditOperation {
  const digest = createHash("sha256").update(prompt).digest();
  const hue = digest.readUInt16BE(0) % 360;
  const [r, g, b] = hslToRgb(hue, 0.7, 0.5);
  return {
    name: `tint(${hue})`,
    matches: () => true,
    apply: (image) =>
      image
        .modulate({ hue: 40 + (digest.readUInt16BE(2) % 280) })
        .linear([0.7 + (0.6 * r) / 255, 0.7 + (0.6 * g) / 255, 0.7 + (0.6 * b) / 255], [0, 0, 0]),
  };
}

function hslToRgb(hue: number, saturation: number, lightness: number): [number, number, number] {
  const chroma = (1 - Math.abs(2 * lightness - 1)) * saturation;
  const x = chroma * (1 - Math.abs(((hue / 60) % 2) - 1));
  const m = lightness - chroma / 2;
  const sector = Math.floor(hue / 60);
  const [r, g, b] = (
    [
      [chroma, x, 0],
      [x, chroma, 0],
      [0, chroma, x],
      [0, x, chroma],
      [x, 0, chroma],
      [chroma, 0, x],
    ] as const
  )[sector] ?? [chroma, 0, x];
  return [Math.round((r + m) * 255), Math.round((g + m) * 255), Math.round((b + m) * 255)];
}

function planEdit(prompt: string): EditOperation[] {
  const normalized = prompt.toLowerCase();
  const matched = OPERATIONS.filter((operation) => operation.matches(normalized));
  return matched.length > 0 ? matched : [hashTint(prompt.trim())];
}

/** Names of the operations a prompt maps to, in order (for logs and tests). */
export function describeEdit(prompt: string): string[] {
  return planEdit(prompt).map((operation) => operation.name);
}

interface RawImage {
  data: Buffer;
  info: OutputInfo;
}

async function decode(input: Buffer): Promise<RawImage> {
  try {
    return await sharp(input)
      .autoOrient()
      .resize({ width: MAX_LONG_SIDE, height: MAX_LONG_SIDE, fit: "inside", withoutEnlargement: true })
      .flatten({ background: "#ffffff" })
      .toColourspace("srgb")
      .raw({ depth: "uchar" })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new HardError("invalid_input", `Input image could not be decoded: ${reason}`, { cause: error });
  }
}

function load({ data, info }: RawImage): Sharp {
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } });
}

/**
 * Edits `input` (any format sharp decodes) as `prompt` asks and returns a PNG: EXIF-oriented,
 * transparency flattened onto white, long side capped at 1280 px. Deterministic per (image, prompt,
 * variant). A variant above 1 (a step's candidate 2, 3, ...) turns the hue by its own angle, so
 * candidates side by side differ as a real model's would; variant 0 or 1 is the plain edit.
 */
export async function editImage(input: Buffer, prompt: string, variant = 0): Promise<Buffer> {
  let image = await decode(input);
  if (variant > 1) image = await load(image).modulate({ hue: (variant - 1) * 97 }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  // One pass per operation: sharp runs a single pipeline's operations in its own fixed order and
  // keeps only the last call of each kind, which would silently drop combined edits.
  for (const operation of planEdit(prompt)) {
    const size = { width: image.info.width, height: image.info.height };
    image = await operation.apply(load(image), size).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  }
  return load(image).png({ compressionLevel: 6 }).toBuffer();
}
