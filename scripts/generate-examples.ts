/**
 * The home page's examples: what Montage makes, made by Montage's own local models (sharp edits the
 * image, ffmpeg renders the video; lib/providers/local) from synthetic scenes, so nothing is stock
 * and nothing needs the network. Run before every build by scripts/codegen.ts; writes
 * public/examples/ and its manifest.json (read by app/page.tsx). Skipped when the manifest was made
 * by this same recipe and the same model code, so a rebuild costs nothing.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import sharp from "sharp";
import type { ExampleManifest } from "@/lib/examples/manifest";
import { isMainModule } from "./write-if-changed";

const root = path.resolve(import.meta.dirname, "..");
const outDir = path.join(root, "public", "examples");
const manifestPath = path.join(outDir, "manifest.json");
const WIDTH = 640;
const HEIGHT = 480;

/** Scenes drawn as SVG: simple shapes with gradients, enough for the edits and the camera moves to show. */
const SCENES: Record<string, string> = {
  harbor: `
    <defs>
      <linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5b8fd6"/><stop offset="1" stop-color="#f3c79a"/></linearGradient>
      <linearGradient id="sea" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#2f6f9a"/><stop offset="1" stop-color="#153a57"/></linearGradient>
    </defs>
    <rect width="640" height="480" fill="url(#sky)"/>
    <circle cx="470" cy="150" r="44" fill="#fff1c4"/>
    <rect y="300" width="640" height="180" fill="url(#sea)"/>
    <path d="M0 300 L120 230 L200 270 L300 210 L420 280 L520 240 L640 290 L640 300 Z" fill="#41553f"/>
    <path d="M150 360 h170 l-30 40 h-110 z" fill="#7a3b2e"/><rect x="228" y="270" width="6" height="92" fill="#3a2a20"/>
    <path d="M234 276 L300 350 L234 350 Z" fill="#f4efe6"/>
    <path d="M380 400 h120 l-20 26 h-80 z" fill="#2d2d2d"/>`,
  city: `
    <defs>
      <linearGradient id="dusk" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#1c2452"/><stop offset="1" stop-color="#e58b5b"/></linearGradient>
    </defs>
    <rect width="640" height="480" fill="url(#dusk)"/>
    <circle cx="120" cy="110" r="30" fill="#fde9b0"/>
    <rect x="40" y="250" width="80" height="230" fill="#232a3d"/><rect x="130" y="190" width="70" height="290" fill="#2c3552"/>
    <rect x="210" y="280" width="90" height="200" fill="#1e2436"/><rect x="310" y="150" width="60" height="330" fill="#343f60"/>
    <rect x="380" y="230" width="100" height="250" fill="#262e47"/><rect x="490" y="300" width="110" height="180" fill="#1b2031"/>
    <g fill="#ffd97a">
      <rect x="145" y="210" width="10" height="14"/><rect x="170" y="240" width="10" height="14"/><rect x="325" y="180" width="10" height="14"/>
      <rect x="345" y="230" width="10" height="14"/><rect x="400" y="260" width="10" height="14"/><rect x="440" y="300" width="10" height="14"/>
      <rect x="60" y="280" width="10" height="14"/><rect x="230" y="320" width="10" height="14"/><rect x="520" y="330" width="10" height="14"/>
    </g>`,
};

interface Recipe {
  id: string;
  title: string;
  /** The source image: tests/fixtures/photo.jpg (scripts/make-fixtures.ts draws it) or one of SCENES. */
  source: { fixture: string } | { scene: keyof typeof SCENES };
  editPrompt: string;
  videoPrompt: string;
}

const RECIPES: Recipe[] = [
  {
    id: "countryside",
    title: "Countryside, golden hour",
    source: { fixture: "tests/fixtures/photo.jpg" },
    editPrompt: "Make it cinematic with warm golden-hour light",
    videoPrompt: "Slow cinematic push-in, gentle camera movement",
  },
  { id: "harbor", title: "Harbor, vintage", source: { scene: "harbor" }, editPrompt: "Vintage sepia tones", videoPrompt: "Pan left along the shore" },
  { id: "city", title: "City at night", source: { scene: "city" }, editPrompt: "Moody night, vivid colours", videoPrompt: "Zoom out to reveal the skyline" },
];

async function sourceImage(recipe: Recipe): Promise<Buffer> {
  if ("fixture" in recipe.source) return readFile(path.join(root, recipe.source.fixture));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}">${SCENES[recipe.source.scene]}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

/** Changes when the recipes, this script or the models' code change. */
async function recipeHash(): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify(RECIPES)).update(JSON.stringify(SCENES));
  for (const file of ["scripts/generate-examples.ts", "lib/providers/local/image-edit.ts", "lib/providers/local/video.ts", "tests/fixtures/photo.jpg"]) {
    hash.update(await readFile(path.join(root, file)));
  }
  return hash.digest("hex").slice(0, 16);
}

/** Whether public/examples holds what this recipe and this model code make: codegen asks before spawning the work. */
export async function examplesUpToDate(): Promise<boolean> {
  return upToDate(await recipeHash());
}

async function upToDate(hash: string): Promise<boolean> {
  if (!existsSync(manifestPath)) return false;
  try {
    const manifest = JSON.parse(await readFile(manifestPath, "utf8")) as ExampleManifest;
    return manifest.hash === hash && manifest.examples.every((example) => [example.before, example.after, example.video].every((url) => existsSync(path.join(root, "public", url))));
  } catch {
    return false;
  }
}

async function main(): Promise<void> {
  const hash = await recipeHash();
  if (await upToDate(hash)) {
    console.log("Home page examples are up to date.");
    return;
  }
  const started = Date.now();
  // The local models are server modules (`import "server-only"`): this script runs with node's
  // react-server condition (scripts/codegen.ts starts it so), and loads them only when there is work.
  const { editImage } = await import("@/lib/providers/local/image-edit");
  const { generateVideo } = await import("@/lib/providers/local/video");
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const manifest: ExampleManifest = { hash, examples: [] };
  for (const recipe of RECIPES) {
    const source = await sourceImage(recipe);
    const edited = await editImage(source, recipe.editPrompt);
    const video = await generateVideo(edited, recipe.videoPrompt, { signal: AbortSignal.timeout(120_000), onProgress: () => undefined, durationSeconds: 4 });
    const before = `/examples/${recipe.id}-before.jpg`;
    const after = `/examples/${recipe.id}-after.jpg`;
    const videoUrl = `/examples/${recipe.id}.mp4`;
    const afterImage = sharp(edited);
    const { width = WIDTH, height = HEIGHT } = await afterImage.metadata();
    await sharp(source).jpeg({ quality: 80, mozjpeg: true }).toFile(path.join(root, "public", before));
    await afterImage.jpeg({ quality: 80, mozjpeg: true }).toFile(path.join(root, "public", after));
    await writeFile(path.join(root, "public", videoUrl), video);
    manifest.examples.push({ id: recipe.id, title: recipe.title, editPrompt: recipe.editPrompt, videoPrompt: recipe.videoPrompt, before, after, video: videoUrl, width, height });
  }
  await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`Home page examples generated by the local models: ${manifest.examples.length} in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}

if (isMainModule(import.meta.url)) await main();
