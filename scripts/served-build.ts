/**
 * Servers started by `npm start` and `npm test` never serve `.next` itself: `next build` empties
 * and rewrites `.next`, and a server whose route modules, manifests and chunks vanish or change
 * under it answers 500 from then on. They serve a copy of a finished build instead, a sibling
 * folder `.next-serve-<build id>` (next.config.mjs reads its name from MONTAGE_DIST_DIR) that no
 * build ever writes. Copies are made once per build, reused by every later start of the same
 * build, and removed once no live process uses them and a newer build exists.
 *
 * A copy sits beside `.next`, at the same depth, because Turbopack links external packages from
 * `<distDir>/node_modules` with relative symlinks (`../../node_modules/pg`); the links are copied
 * as they are. Who uses a copy is recorded as one file per process id in `<copy>/.montage-users/`.
 * Every function here runs under the build lock (scripts/build-lock.ts).
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isProcessAlive } from "./build-lock";

export const BUILD_DIR = ".next";
export const SERVED_PREFIX = ".next-serve-";
/** Written into the build folder after a successful build; `next build` deletes it when it starts. */
export const BUILD_STAMP = "montage-build.json";
const USERS = ".montage-users";
/** Not needed to serve: the build cache (Turbopack's, large) and `next dev`'s output. */
const NOT_COPIED = new Set(["cache", "dev"]);

export interface BuildStamp {
  fingerprint: string;
  builtAt: string;
}

export function readBuildStamp(buildDir: string): BuildStamp | undefined {
  try {
    return JSON.parse(readFileSync(path.join(buildDir, BUILD_STAMP), "utf8")) as BuildStamp;
  } catch {
    return undefined;
  }
}

function servedCopies(root: string): string[] {
  return readdirSync(root).filter((name) => name.startsWith(SERVED_PREFIX));
}

/** A copy being written is `<name>.tmp-<pid>`: renamed into place only when complete. */
const TEMP_SUFFIX = /\.tmp-(\d+)$/;

function copyBuild(root: string, name: string): void {
  const source = path.join(root, BUILD_DIR);
  const temp = path.join(root, `${name}.tmp-${process.pid}`);
  rmSync(temp, { recursive: true, force: true });
  cpSync(source, temp, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (file) => path.dirname(file) !== source || !NOT_COPIED.has(path.basename(file)),
  });
  renameSync(temp, path.join(root, name));
}

/**
 * The copy to serve for a build with `fingerprint`: the copy of `.next` when `.next` holds that
 * build (made now if missing), else an existing copy of an earlier build with the same fingerprint
 * (so a rebuild of `.next` by `npm test` does not cost the next `npm start` a build); undefined
 * when neither exists and a build is needed. The copy is registered as used by `owner`, and copies
 * nobody uses any more are removed.
 */
export function claimServedBuild(root: string, fingerprint: string, owner: number): string | undefined {
  let name: string | undefined;
  const buildDir = path.join(root, BUILD_DIR);
  if (readBuildStamp(buildDir)?.fingerprint === fingerprint && existsSync(path.join(buildDir, "BUILD_ID"))) {
    const buildId = readFileSync(path.join(buildDir, "BUILD_ID"), "utf8").trim().replace(/[^A-Za-z0-9_-]/g, "_");
    name = `${SERVED_PREFIX}${buildId}`;
    if (readBuildStamp(path.join(root, name))?.fingerprint !== fingerprint) {
      rmSync(path.join(root, name), { recursive: true, force: true });
      copyBuild(root, name);
    }
  } else {
    name = servedCopies(root)
      .filter((copy) => !TEMP_SUFFIX.test(copy))
      .map((copy) => ({ copy, stamp: readBuildStamp(path.join(root, copy)) }))
      .filter(({ stamp }) => stamp?.fingerprint === fingerprint)
      .sort((a, b) => (a.stamp!.builtAt < b.stamp!.builtAt ? 1 : -1))[0]?.copy;
  }
  if (name === undefined) return undefined;
  mkdirSync(path.join(root, name, USERS), { recursive: true });
  writeFileSync(path.join(root, name, USERS, String(owner)), "");
  removeUnusedServedBuilds(root, name);
  return name;
}

/** Says `owner` no longer serves `name` (a process that dies without saying so is noticed too). */
export function releaseServedBuild(root: string, name: string, owner: number): void {
  rmSync(path.join(root, name, USERS, String(owner)), { force: true });
}

function inUse(root: string, name: string): boolean {
  const partial = TEMP_SUFFIX.exec(name);
  if (partial) return isProcessAlive(Number(partial[1]));
  const users = path.join(root, name, USERS);
  return existsSync(users) && readdirSync(users).some((pid) => isProcessAlive(Number(pid)));
}

/** Removes every copy except `keep` that no live process uses. */
export function removeUnusedServedBuilds(root: string, keep: string): void {
  for (const name of servedCopies(root)) {
    if (name !== keep && !inUse(root, name)) rmSync(path.join(root, name), { recursive: true, force: true });
  }
}
