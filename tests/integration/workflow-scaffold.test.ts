import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { workflowConfigSchema } from "@/lib/workflows/definition";
import { scaffoldWorkflow } from "@/scripts/workflow-new";

/**
 * `npm run workflow:new` writes a workflow that passes the suite as it is: its config validates,
 * it type-checks and lints, and its own test (which runs it on the local providers) passes. The
 * folder is written under workflows/ with a leading "_", which the registry generator skips, so
 * no other test or build sees it; it is removed afterwards.
 */
const root = path.resolve(import.meta.dirname, "../..");
const dir = path.join("workflows", `_scaffold-${process.pid}-${Date.now().toString(36)}`);
const folder = path.join(root, dir);

afterAll(() => {
  rmSync(folder, { recursive: true, force: true });
});

function run(command: string, args: string[]) {
  const result = spawnSync(command, args, { cwd: root, encoding: "utf8", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe("npm run workflow:new", () => {
  it("refuses an id that is not one, and a folder that exists", () => {
    const scratch = mkdtempSync(path.join(os.tmpdir(), "montage-scaffold-"));
    try {
      expect(() => scaffoldWorkflow(scratch, "Bad Id")).toThrow(/not a workflow id/);
      scaffoldWorkflow(scratch, "twice");
      expect(() => scaffoldWorkflow(scratch, "twice")).toThrow(/already exists/);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it("writes config.json, workflow.ts and a test; the config validates", () => {
    const written = scaffoldWorkflow(root, "scaffolded-check", dir);
    expect(written.map((file) => path.basename(file))).toEqual(["config.json", "workflow.ts", "workflow.test.ts"]);
    const config = workflowConfigSchema.parse(JSON.parse(readFileSync(path.join(folder, "config.json"), "utf8")));
    expect(config.steps.map((step) => step.name)).toEqual(["image", "upscale"]);
    expect(readFileSync(path.join(folder, "workflow.ts"), "utf8")).toContain("ctx.previous");
  });

  it("type-checks and lints as it is", { timeout: 240_000 }, () => {
    expect(existsSync(folder)).toBe(true);
    writeFileSync(path.join(folder, "tsconfig.json"), JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { incremental: false, plugins: [] }, include: ["./*.ts"] }));
    const tsc = run("npx", ["tsc", "--noEmit", "-p", path.join(dir, "tsconfig.json")]);
    rmSync(path.join(folder, "tsconfig.json"));
    expect(tsc.output.trim(), tsc.output).toBe("");
    expect(tsc.status).toBe(0);
    const eslint = run("npx", ["eslint", "--no-warn-ignored", dir]);
    expect(eslint.status, eslint.output).toBe(0);
  });

  it("its own test passes: the workflow runs end to end on the local providers", { timeout: 240_000 }, () => {
    const vitest = run("npx", ["vitest", "run", path.join(dir, "workflow.test.ts")]);
    expect(vitest.status, vitest.output).toBe(0);
    expect(vitest.output).toMatch(/3 passed/);
  });
});
