/**
 * The production build, skipped when nothing it reads changed: `next build` into `.next`, then a
 * stamp with the build's fingerprint (scripts/build-fingerprint.ts). A build whose stamp matches
 * the current fingerprint is current. Builds run one at a time per checkout (scripts/build-lock.ts).
 *
 *   tsx scripts/build.ts                  build unless current (npm run build, npm run bench)
 *   tsx scripts/build.ts --force          build even when current (npm test tests a fresh build)
 *   tsx scripts/build.ts --serve-for PID  also make or reuse the copy a server of process PID serves
 *                                         (scripts/served-build.ts) and print its folder name on
 *                                         stdout; everything else goes to stderr
 *
 * See docs/decisions/2026-12-01-start-without-rebuilding.md.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { parseArgs } from "node:util";
import { computeBuildFingerprint, type BuildEnvironment } from "./build-fingerprint";
import { withBuildLock } from "./build-lock";
import { BUILD_DIR, BUILD_STAMP, claimServedBuild, readBuildStamp, type BuildStamp } from "./served-build";
import { isMainModule, writeFileIfChanged } from "./write-if-changed";

export interface BuildOptions {
  root: string;
  force?: boolean;
  env?: BuildEnvironment;
  /** Runs the build itself; `next build` unless a test supplies another. */
  runBuild?: () => void;
  log?: (line: string) => void;
}

export interface BuildOutcome {
  built: boolean;
  fingerprint: string;
}

/** `next build` into `.next`, its output on stderr (stdout may be a machine-read answer). */
function nextBuild(root: string, env: BuildEnvironment): void {
  const buildEnv: BuildEnvironment = { ...env, NEXT_TELEMETRY_DISABLED: "1" };
  // Always into .next: a server's copy is made from it (next.config.mjs reads MONTAGE_DIST_DIR).
  delete buildEnv.MONTAGE_DIST_DIR;
  execFileSync(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "build"], { cwd: root, env: buildEnv as NodeJS.ProcessEnv, stdio: ["ignore", 2, 2] });
}

/** Builds unless the build in `.next` is current; call under the build lock. */
function buildUnlessCurrent(options: BuildOptions): BuildOutcome {
  const { root, env = process.env, log = console.error } = options;
  const fingerprint = computeBuildFingerprint(root, env);
  if (!options.force && readBuildStamp(path.join(root, BUILD_DIR))?.fingerprint === fingerprint) {
    log(`Build is up to date (fingerprint ${fingerprint.slice(0, 12)}).`);
    return { built: false, fingerprint };
  }
  log(options.force ? "Building (a fresh build was asked for)..." : "Building: the sources changed since the last build...");
  (options.runBuild ?? (() => nextBuild(root, env)))();
  const stamp: BuildStamp = { fingerprint, builtAt: new Date().toISOString() };
  writeFileIfChanged(path.join(root, BUILD_DIR, BUILD_STAMP), `${JSON.stringify(stamp, null, 2)}\n`);
  return { built: true, fingerprint };
}

export function ensureBuild(options: BuildOptions): Promise<BuildOutcome> {
  return withBuildLock(options.root, () => buildUnlessCurrent(options), options.log);
}

/**
 * Makes sure a build of the current sources exists and returns the folder a server owned by
 * process `owner` should serve (a copy no later build touches). Without `force`, an existing copy
 * of the same fingerprint is served without building.
 */
export function prepareServedBuild(options: BuildOptions & { owner: number }): Promise<BuildOutcome & { distDir: string }> {
  const { root, env = process.env, owner } = options;
  return withBuildLock(
    root,
    () => {
      if (!options.force) {
        const fingerprint = computeBuildFingerprint(root, env);
        const distDir = claimServedBuild(root, fingerprint, owner);
        if (distDir !== undefined) {
          (options.log ?? console.error)(`Build is up to date (fingerprint ${fingerprint.slice(0, 12)}).`);
          return { built: false, fingerprint, distDir };
        }
      }
      const outcome = buildUnlessCurrent(options);
      const distDir = claimServedBuild(root, outcome.fingerprint, owner);
      if (distDir === undefined) throw new Error(`The build in ${BUILD_DIR} does not match the sources it was built from.`);
      return { ...outcome, distDir };
    },
    options.log,
  );
}

if (isMainModule(import.meta.url)) {
  const { values } = parseArgs({ options: { force: { type: "boolean", default: false }, "serve-for": { type: "string" } } });
  const root = path.resolve(import.meta.dirname, "..");
  const owner = values["serve-for"];
  if (owner === undefined) {
    await ensureBuild({ root, force: values.force });
  } else {
    const { distDir } = await prepareServedBuild({ root, force: values.force, owner: Number(owner) });
    console.log(distDir);
  }
}
