/**
 * scripts/generate-workflow-registry.ts on real folders in a temp project: each workflow's version
 * follows its config.json and code, and the generated file is left alone when nothing changed.
 */
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateWorkflowRegistry, REGISTRY_FILE, workflowVersion } from "@/scripts/generate-workflow-registry";

const CONFIG = `{
  "id": "alpha",
  "name": "Alpha",
  "steps": [{ "name": "upload", "type": "upload", "label": "Upload" }]
}
`;
const WORKFLOW = `import { defineWorkflow } from "@/lib/workflows/definition";

export const handlers = defineWorkflow({ upload: async () => ({ ok: true }) });
`;

let root: string;
const folder = (name: string) => path.join(root, "workflows", name);

function writeWorkflow(name: string, files: Record<string, string>): void {
  mkdirSync(folder(name), { recursive: true });
  for (const [file, content] of Object.entries(files)) writeFileSync(path.join(folder(name), file), content);
}

/** The version the generated file gives a folder. */
function generatedVersion(name: string): string | undefined {
  const text = readFileSync(path.join(root, REGISTRY_FILE), "utf8");
  return new RegExp(`folder: "${name}", version: "([0-9a-f]+)"`).exec(text)?.[1];
}

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "montage-registry-"));
  writeWorkflow("alpha", { "config.json": CONFIG, "workflow.ts": WORKFLOW });
  writeWorkflow("beta", { "config.json": CONFIG.replace(/alpha/gi, "beta"), "workflow.ts": WORKFLOW });
});

afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

describe("workflow versions", () => {
  it("are 12 hex digits, written into the registry for each folder", async () => {
    const { included, written } = await generateWorkflowRegistry(root);

    expect(included).toEqual(["alpha", "beta"]);
    expect(written).toBe(true);
    expect(generatedVersion("alpha")).toMatch(/^[0-9a-f]{12}$/);
    expect(generatedVersion("alpha")).toBe(workflowVersion(folder("alpha")));
    expect(generatedVersion("beta")).toBe(workflowVersion(folder("beta")));
    expect(generatedVersion("beta")).not.toBe(generatedVersion("alpha"));
  });

  it("are the same for the same content, whatever the folder's name or line endings", () => {
    cpSync(folder("alpha"), folder("alpha-copy"), { recursive: true });
    writeWorkflow("alpha-crlf", { "config.json": CONFIG.replace(/\n/g, "\r\n"), "workflow.ts": WORKFLOW.replace(/\n/g, "\r\n") });

    expect(workflowVersion(folder("alpha-copy"))).toBe(workflowVersion(folder("alpha")));
    expect(workflowVersion(folder("alpha-crlf"))).toBe(workflowVersion(folder("alpha")));
  });

  it("change when config.json, workflow.ts or another code file changes, not for a test file", () => {
    const original = workflowVersion(folder("alpha"));

    writeWorkflow("alpha", { "workflow.test.ts": "// a test of the workflow\n", "README.md": "notes\n" });
    expect(workflowVersion(folder("alpha"))).toBe(original);

    writeWorkflow("alpha", { "config.json": CONFIG.replace('"Alpha"', '"Alpha 2"') });
    const afterConfig = workflowVersion(folder("alpha"));
    expect(afterConfig).not.toBe(original);

    writeWorkflow("alpha", { "workflow.ts": WORKFLOW.replace("ok: true", "ok: false") });
    const afterWorkflow = workflowVersion(folder("alpha"));
    expect(afterWorkflow).not.toBe(afterConfig);

    writeWorkflow("alpha", { "prompts.ts": 'export const prompt = "sharper";\n' });
    expect(workflowVersion(folder("alpha"))).not.toBe(afterWorkflow);
  });
});

describe("the generated registry file", () => {
  it("is not rewritten when nothing changed, and is when a workflow changed", async () => {
    await generateWorkflowRegistry(root);
    const file = path.join(root, REGISTRY_FILE);
    const past = new Date(Date.now() - 60_000);
    utimesSync(file, past, past);
    const before = statSync(file).mtimeMs;

    expect((await generateWorkflowRegistry(root)).written).toBe(false);
    expect(statSync(file).mtimeMs).toBe(before);

    const betaVersion = generatedVersion("beta");
    writeWorkflow("alpha", { "workflow.ts": WORKFLOW.replace("ok: true", "ok: 1") });
    expect((await generateWorkflowRegistry(root)).written).toBe(true);
    expect(statSync(file).mtimeMs).toBeGreaterThan(before);
    expect(generatedVersion("alpha")).toBe(workflowVersion(folder("alpha")));
    expect(generatedVersion("beta")).toBe(betaVersion);
  });
});
