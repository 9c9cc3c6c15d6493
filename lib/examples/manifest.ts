import "server-only";
import { readFile } from "node:fs/promises";
import path from "node:path";

/** public/examples/manifest.json, written by scripts/generate-examples.ts before each build. */
export interface ExampleManifest {
  /** Of the recipe and the model code that made the files: a rebuild skips the work when it matches. */
  hash: string;
  examples: Example[];
}

export interface Example {
  id: string;
  title: string;
  editPrompt: string;
  videoPrompt: string;
  /** Public URLs: the source image, the edited image, the video. */
  before: string;
  after: string;
  video: string;
  width: number;
  height: number;
}

/** The examples the build made; none when the generator has not run (the home page then shows none). */
export async function readExamples(publicDir = path.join(process.cwd(), "public")): Promise<Example[]> {
  try {
    const manifest = JSON.parse(await readFile(path.join(publicDir, "examples", "manifest.json"), "utf8")) as ExampleManifest;
    return manifest.examples;
  } catch {
    return [];
  }
}
