/**
 * The fingerprint of a production build: a hash of everything `next build` reads that we control.
 * The same fingerprint means the same build, so the build is skipped. It hashes contents, not
 * mtimes: a generator or a checkout that rewrites a file with the same bytes changes nothing.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/** Folders whose files go into the build (tests beside the code excepted). */
const SOURCE_DIRS = ["app", "components", "lib", "workflows", "public"];
/** Single files: entry points, configs, the dependency tree (declared and installed), env files Next loads at build time. */
const SOURCE_FILES = [
  "instrumentation.ts",
  "middleware.ts",
  "proxy.ts",
  "next.config.mjs",
  "tsconfig.json",
  "postcss.config.mjs",
  "package.json",
  "package-lock.json",
  "node_modules/.package-lock.json",
  ".env",
  ".env.local",
  ".env.production",
  ".env.production.local",
];

/** The environment as far as the fingerprint reads it (process.env, or a test's own). */
export type BuildEnvironment = Record<string, string | undefined>;

const isTestFile = (name: string) => /\.test\.[cm]?[jt]sx?$/.test(name);

function listFiles(root: string, dir: string): string[] {
  const absolute = path.join(root, dir);
  if (!existsSync(absolute) || !statSync(absolute).isDirectory()) return [];
  return readdirSync(absolute, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith("."))
    .flatMap((entry) => {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return listFiles(root, relative);
      return entry.isFile() && !isTestFile(entry.name) ? [relative] : [];
    });
}

/** Environment that changes what `next build` emits: NEXT_PUBLIC_* is inlined into the bundles. */
function buildEnvironment(env: BuildEnvironment): [string, string][] {
  return Object.entries(env)
    .filter((entry): entry is [string, string] => entry[1] !== undefined && (entry[0].startsWith("NEXT_PUBLIC_") || entry[0] === "NODE_ENV"))
    .sort(([a], [b]) => (a < b ? -1 : 1));
}

/** The build inputs' paths, relative to `root` and sorted (what the fingerprint covers). */
export function buildInputFiles(root: string): string[] {
  const files = [...SOURCE_DIRS.flatMap((dir) => listFiles(root, dir)), ...SOURCE_FILES.filter((file) => existsSync(path.join(root, file)))];
  return files.sort();
}

export function computeBuildFingerprint(root: string, env: BuildEnvironment = process.env): string {
  const hash = createHash("sha256");
  hash.update(`node ${process.version}\0`);
  for (const [name, value] of buildEnvironment(env)) hash.update(`env ${name}=${value}\0`);
  for (const file of buildInputFiles(root)) {
    hash.update(`file ${file}\0`);
    hash.update(readFileSync(path.join(root, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}
