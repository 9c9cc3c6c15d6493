/**
 * Recreates tests/fixtures/photo.jpg (640x480) and photo.png (320x240): a synthetic "photo" (sky gradient, sun,
 * hills, a house, seeded grain) so codecs treat it like a real picture. Deterministic: same bytes
 * for the same sharp version. Run: npx tsx scripts/make-fixtures.ts
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";

const WIDTH = 640;
const HEIGHT = 480;
const OUT_DIR = path.resolve(import.meta.dirname, "..", "tests", "fixtures");

type Rgb = [number, number, number];

// mulberry32: a tiny seeded PRNG, so the grain is the same on every run.
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mix(a: Rgb, b: Rgb, t: number): Rgb {
  return [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
}

function colorAt(x: number, y: number): Rgb {
  const hill = HEIGHT * 0.62 + Math.sin(x / 70) * 28 + Math.sin(x / 23 + 1) * 9;
  const house = x > 400 && x < 520 && y > 250 && y < 340;
  const roof = y <= 250 && y > 190 && Math.abs(x - 460) < (y - 190) * 1.1;
  const window = house && ((x > 420 && x < 450) || (x > 470 && x < 500)) && y > 270 && y < 300;
  if (window) return [250, 220, 120];
  if (house) return [196, 160, 120];
  if (roof) return [150, 50, 40];
  if (y > hill) return mix([70, 140, 60], [30, 80, 35], (y - hill) / (HEIGHT - hill));
  const sun = Math.hypot(x - 150, y - 110);
  if (sun < 48) return [255, 236, 160];
  const sky = mix([90, 150, 230], [250, 200, 160], y / hill);
  return sun < 120 ? mix([255, 230, 170], sky, (sun - 48) / 72) : sky;
}

function renderPixels(): Buffer {
  const random = seededRandom(42);
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const grain = (random() - 0.5) * 14;
      const [r, g, b] = colorAt(x, y);
      const offset = (y * WIDTH + x) * 3;
      pixels[offset] = Math.max(0, Math.min(255, Math.round(r + grain)));
      pixels[offset + 1] = Math.max(0, Math.min(255, Math.round(g + grain)));
      pixels[offset + 2] = Math.max(0, Math.min(255, Math.round(b + grain)));
    }
  }
  return pixels;
}

async function main(): Promise<void> {
  await mkdir(OUT_DIR, { recursive: true });
  const image = () => sharp(renderPixels(), { raw: { width: WIDTH, height: HEIGHT, channels: 3 } });
  const jpg = await image().jpeg({ quality: 80, mozjpeg: true }).toFile(path.join(OUT_DIR, "photo.jpg"));
  // Half size keeps the lossless copy small: grain is what makes PNGs big.
  const png = await image()
    .resize(WIDTH / 2, HEIGHT / 2)
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toFile(path.join(OUT_DIR, "photo.png"));
  console.log(`photo.jpg ${jpg.width}x${jpg.height} ${jpg.size} B, photo.png ${png.width}x${png.height} ${png.size} B`);
}

await main();
