/**
 * What `npm start` does when nothing changed: generators leave their files alone, the build is
 * skipped because its fingerprint matches, and servers get a copy of the build that later builds
 * cannot touch. Real files in temp folders and the real Prisma CLI; only `next build` itself is
 * replaced, by a stand-in that writes a build folder the way it does (emptied, then a new BUILD_ID).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { computeBuildFingerprint } from "@/scripts/build-fingerprint";
import { BUILD_LOCK } from "@/scripts/build-lock";
import { ensureBuild, prepareServedBuild } from "@/scripts/build";
import { generatePrismaClient, prismaClientDir } from "@/scripts/prisma-generate";
import { prismaSchemaPath, writePrismaSchemas } from "@/scripts/prisma-schemas";
import { BUILD_STAMP, releaseServedBuild, SERVED_PREFIX } from "@/scripts/served-build";
import { writeFileIfChanged } from "@/scripts/write-if-changed";

const projectRoot = path.resolve(import.meta.dirname, "../..");
const temps: string[] = [];

function tempRoot(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "montage-build-"));
  temps.push(dir);
  return dir;
}

afterEach(() => {
  for (const dir of temps.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function write(root: string, file: string, content: string): void {
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), content);
}

/** mtimes (ms) of every file under `dir`, by relative path. */
function mtimes(dir: string): Record<string, number> {
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => {
        const file = path.join(entry.parentPath, entry.name);
        return [path.relative(dir, file), statSync(file).mtimeMs];
      }),
  );
}

/** Sets every file's mtime into the past, so that a rewrite, even within the same millisecond, shows. */
function backdate(dir: string): void {
  const past = new Date(Date.now() - 60_000);
  for (const file of Object.keys(mtimes(dir))) utimesSync(path.join(dir, file), past, past);
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ["-e", ""]).pid!;
}

describe("writeFileIfChanged", () => {
  it("leaves a file with the same content untouched and replaces a changed one whole", () => {
    const root = tempRoot();
    const file = path.join(root, "nested", "out.ts");
    expect(writeFileIfChanged(file, "one")).toBe(true);
    backdate(root);
    const before = statSync(file).mtimeMs;

    expect(writeFileIfChanged(file, "one")).toBe(false);
    expect(statSync(file).mtimeMs).toBe(before);

    expect(writeFileIfChanged(file, "two")).toBe(true);
    expect(readFileSync(file, "utf8")).toBe("two");
    expect(statSync(file).mtimeMs).toBeGreaterThan(before);
    expect(readdirSync(path.dirname(file))).toEqual(["out.ts"]);
  });
});

describe("code generation with nothing changed", () => {
  it("does not rewrite the Prisma schemas", () => {
    const root = tempRoot();
    write(root, "prisma/models.prisma", readFileSync(path.join(projectRoot, "prisma/models.prisma"), "utf8"));
    expect(writePrismaSchemas(root)).toEqual(["sqlite", "postgresql"]);
    backdate(path.join(root, "prisma"));
    const before = mtimes(path.join(root, "prisma"));

    expect(writePrismaSchemas(root)).toEqual([]);
    expect(mtimes(path.join(root, "prisma"))).toEqual(before);

    write(root, "prisma/models.prisma", `${readFileSync(path.join(root, "prisma/models.prisma"), "utf8")}\n// a comment\n`);
    expect(writePrismaSchemas(root)).toEqual(["sqlite", "postgresql"]);
  });

  it("runs prisma generate only when the schema changed, leaving the client's files alone otherwise", () => {
    const root = tempRoot();
    write(root, "prisma/models.prisma", readFileSync(path.join(projectRoot, "prisma/models.prisma"), "utf8"));
    writePrismaSchemas(root);
    const nodeModules = path.join(projectRoot, "node_modules");
    const clientDir = prismaClientDir(root, "sqlite");

    expect(generatePrismaClient(root, "sqlite", nodeModules)).toBe("generated");
    expect(existsSync(path.join(clientDir, "client.ts"))).toBe(true);
    backdate(clientDir);
    const before = mtimes(clientDir);

    expect(generatePrismaClient(root, "sqlite", nodeModules)).toBe("up to date");
    expect(mtimes(clientDir)).toEqual(before);

    const schema = prismaSchemaPath(root, "sqlite");
    writeFileSync(schema, readFileSync(schema, "utf8").replace("model User {", "model User {\n  nickname String?"));
    expect(generatePrismaClient(root, "sqlite", nodeModules)).toBe("generated");
    expect(readFileSync(path.join(clientDir, "models", "User.ts"), "utf8")).toContain("nickname");
  });
});

/** A minimal project: what the fingerprint covers, plus a test file it ignores. */
function sampleProject(): string {
  const root = tempRoot();
  write(root, "app/page.tsx", "export default function Page() { return null; }\n");
  write(root, "components/button.tsx", "export const Button = () => null;\n");
  write(root, "lib/thing.ts", "export const thing = 1;\n");
  write(root, "lib/thing.test.ts", "// a test beside the code\n");
  write(root, "package.json", '{ "name": "sample" }\n');
  return root;
}

describe("the build fingerprint", () => {
  const env = { PATH: "/usr/bin" };

  it("is the same for the same contents, whatever the mtimes", () => {
    const root = sampleProject();
    const first = computeBuildFingerprint(root, env);
    backdate(root);
    writeFileSync(path.join(root, "lib/thing.ts"), "export const thing = 1;\n");
    expect(computeBuildFingerprint(root, env)).toBe(first);
  });

  it("changes when a source, a config or a NEXT_PUBLIC_ variable changes, not for a test file", () => {
    const root = sampleProject();
    const first = computeBuildFingerprint(root, env);

    writeFileSync(path.join(root, "lib/thing.test.ts"), "// edited test\n");
    expect(computeBuildFingerprint(root, env)).toBe(first);
    expect(computeBuildFingerprint(root, { ...env, DATABASE_URL: "file:./other.db" })).toBe(first);

    expect(computeBuildFingerprint(root, { ...env, NEXT_PUBLIC_FLAG: "1" })).not.toBe(first);
    writeFileSync(path.join(root, "components/button.tsx"), "export const Button = () => 'x';\n");
    const afterEdit = computeBuildFingerprint(root, env);
    expect(afterEdit).not.toBe(first);
    write(root, "next.config.mjs", "export default {};\n");
    expect(computeBuildFingerprint(root, env)).not.toBe(afterEdit);
  });
});

/** Stands in for `next build`: empties `.next` except its cache (as next does) and writes a new build. */
function standInBuild(root: string, calls: string[]): () => void {
  return () => {
    const buildDir = path.join(root, ".next");
    mkdirSync(buildDir, { recursive: true });
    for (const name of readdirSync(buildDir)) if (name !== "cache") rmSync(path.join(buildDir, name), { recursive: true });
    const buildId = `build${calls.length + 1}`;
    calls.push(buildId);
    write(root, ".next/BUILD_ID", buildId);
    write(root, ".next/server/app/page.js", `// ${buildId}\n`);
    write(root, ".next/cache/big", "not served");
    mkdirSync(path.join(buildDir, "node_modules"));
    symlinkSync("../../node_modules/pg", path.join(buildDir, "node_modules", "pg-1234"));
  };
}

const quiet = () => {};

describe("the build step", () => {
  it("builds once, then skips while nothing changed, and builds again after a change or when forced", async () => {
    const root = sampleProject();
    const calls: string[] = [];
    const options = { root, env: {}, runBuild: standInBuild(root, calls), log: quiet };

    expect((await ensureBuild(options)).built).toBe(true);
    expect((await ensureBuild(options)).built).toBe(false);
    expect(calls).toEqual(["build1"]);

    writeFileSync(path.join(root, "app/page.tsx"), "export default function Page() { return 'changed'; }\n");
    expect((await ensureBuild(options)).built).toBe(true);
    expect((await ensureBuild({ ...options, force: true })).built).toBe(true);
    expect(calls).toEqual(["build1", "build2", "build3"]);
    expect(existsSync(path.join(root, BUILD_LOCK))).toBe(false);
  });

  it("treats a build made outside the scripts (no stamp) as not current", async () => {
    const root = sampleProject();
    const calls: string[] = [];
    const options = { root, env: {}, runBuild: standInBuild(root, calls), log: quiet };
    await ensureBuild(options);
    rmSync(path.join(root, ".next", BUILD_STAMP));

    expect((await ensureBuild(options)).built).toBe(true);
  });

  it("lets a second builder wait for the first and then find the build current", async () => {
    const root = sampleProject();
    const calls: string[] = [];
    const options = { root, env: {}, runBuild: standInBuild(root, calls), log: quiet };

    const outcomes = await Promise.all([ensureBuild(options), ensureBuild(options)]);

    expect(outcomes.map((outcome) => outcome.built).sort()).toEqual([false, true]);
    expect(calls).toEqual(["build1"]);
  });

  it("takes over a lock left by a process that died", async () => {
    const root = sampleProject();
    writeFileSync(path.join(root, BUILD_LOCK), String(deadPid()));
    const calls: string[] = [];

    expect((await ensureBuild({ root, env: {}, runBuild: standInBuild(root, calls), log: quiet })).built).toBe(true);
  });
});

describe("what a server serves", () => {
  it("is a copy of the build, reused by the next start with nothing changed, that no later build touches", async () => {
    const root = sampleProject();
    const calls: string[] = [];
    const options = { root, env: {}, runBuild: standInBuild(root, calls), log: quiet, owner: process.pid };

    const first = await prepareServedBuild(options);
    expect(first).toMatchObject({ built: true, distDir: `${SERVED_PREFIX}build1` });
    const copy = path.join(root, first.distDir);
    expect(readFileSync(path.join(copy, "BUILD_ID"), "utf8")).toBe("build1");
    expect(readlinkSync(path.join(copy, "node_modules", "pg-1234"))).toBe("../../node_modules/pg");
    expect(existsSync(path.join(copy, "cache"))).toBe(false);

    // A second start: nothing built, the same copy.
    expect(await prepareServedBuild(options)).toMatchObject({ built: false, distDir: first.distDir });

    // npm test rebuilds .next with the same sources, then a source changes and another start builds:
    // the first copy, still in use, is left exactly as it was.
    await ensureBuild({ ...options, force: true });
    writeFileSync(path.join(root, "lib/thing.ts"), "export const thing = 2;\n");
    const second = await prepareServedBuild({ ...options, owner: deadPid() });
    expect(second).toMatchObject({ built: true, distDir: `${SERVED_PREFIX}build3` });
    expect(readFileSync(path.join(copy, "BUILD_ID"), "utf8")).toBe("build1");
    expect(readFileSync(path.join(copy, "server/app/page.js"), "utf8")).toBe("// build1\n");

    // Once its server lets go, the old copy is removed by the next start; the current one stays.
    releaseServedBuild(root, first.distDir, process.pid);
    expect(await prepareServedBuild(options)).toMatchObject({ built: false, distDir: second.distDir });
    expect(readdirSync(root).filter((name) => name.startsWith(SERVED_PREFIX))).toEqual([second.distDir]);
  });

  it("serves an existing copy of the same sources without building, even after .next was rebuilt by hand", async () => {
    const root = sampleProject();
    const calls: string[] = [];
    const options = { root, env: {}, runBuild: standInBuild(root, calls), log: quiet, owner: process.pid };
    const first = await prepareServedBuild(options);
    // `npx next build` run by hand: a new .next without the scripts' stamp.
    standInBuild(root, calls)();

    expect(await prepareServedBuild(options)).toMatchObject({ built: false, distDir: first.distDir });
    expect(calls).toEqual(["build1", "build2"]);
  });
});
