/**
 * `npm run workflow:new -- <id>`: writes workflows/<id>/ with a config.json, a workflow.ts whose
 * handlers show what a step gets (its context), and a workflow.test.ts that runs the workflow end
 * to end on the local providers. The result runs as it is: rebuild (or restart `npm run dev`) and
 * it is in /workflows/list; docs/workflows.md is the guide to change it.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { isMainModule } from "./write-if-changed";

export const WORKFLOW_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

function titleOf(id: string): string {
  return id
    .split("-")
    .filter(Boolean)
    .map((word) => word[0]!.toUpperCase() + word.slice(1))
    .join(" ");
}

export function configTemplate(id: string): string {
  const config = {
    id,
    name: titleOf(id),
    description: "Describe what this workflow makes",
    icon: "✨",
    steps: [
      {
        name: "image",
        type: "generation",
        label: "Generate image",
        model: "black-forest-labs/flux-schnell",
        input: { num_outputs: 1, output_format: "png" },
        pricing: { per: "output", usd: 0.003 },
      },
      {
        name: "upscale",
        type: "generation",
        label: "Upscale",
        model: "nightmareai/real-esrgan",
        input: { scale: 2 },
        pricing: { per: "second_of_compute", usd: 0.000225, estimate_seconds: 8 },
      },
    ],
    inputs: [
      { name: "prompt", label: "Prompt", type: "textarea", description: "What the image shows", required: true, max_length: 1000 },
      { name: "aspect_ratio", label: "Aspect ratio", type: "select", options: ["1:1", "16:9", "9:16"], default: "1:1" },
      { name: "seed", label: "Seed", type: "seed", description: "Leave empty for a random one" },
    ],
    retry: { max_attempts: 3 },
  };
  return `${JSON.stringify(config, null, 2)}\n`;
}

export function workflowTemplate(id: string): string {
  return `import { defineWorkflow, numberInput, previousUrl, runModel, storeMedia } from "@/lib/workflows/public";

/**
 * ${titleOf(id)}: one handler per step in config.json, run in order. A handler gets the step's
 * context and returns its output (a JSON object), which is checkpointed: a retry or a restart
 * resumes at the first step without one. What the context holds:
 * - ctx.inputs: the declared inputs, validated, defaults applied, as text (numberInput() reads a number or seed);
 * - ctx.previous: the previous step's output ({} for the first step);
 * - ctx.step: this step's config (its model is the caller's choice when the step lists \`models\`);
 * - ctx.readUpload(): the job's image, for a workflow with an \`input\` step or an image input;
 * - ctx.readInputImage(name): the image sent for an image input (null when an optional one was not sent);
 * - ctx.progress(percent, message): live progress; ctx.signal: aborted on cancel or shutdown;
 * - ctx.providers: models and storage (local or Replicate/Cloudinary; the same code runs on both);
 * - ctx.state: durable scratch state (e.g. a prediction id) kept in the step's checkpoint; ctx.log.
 * Throw HardError for a failure a retry cannot fix; anything else from a provider is classified for you.
 */
export const handlers = defineWorkflow({
  async image(ctx) {
    const seed = numberInput(ctx, "seed");
    const image = await runModel(ctx, { prompt: ctx.inputs.prompt, aspect_ratio: ctx.inputs.aspect_ratio, ...(seed !== undefined && { seed }) });
    return { image_url: await storeMedia(ctx, image, "image") };
  },

  async upscale(ctx) {
    const large = await runModel(ctx, { image: previousUrl(ctx, "image_url") });
    return { image_url: await storeMedia(ctx, large, "image") };
  },
});
`;
}

export function testTemplate(id: string): string {
  return `import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "@/lib/server/runtime";
import { buildRegistry } from "@/lib/workflows/registry";
import { createUserWithToken, executeRequest, waitForJobStatus } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import config from "./config.json";
import * as module from "./workflow";

/** ${titleOf(id)} end to end on the local providers (real images, no network), on a database of its own. */
describe("workflow ${id}", () => {
  const registry = buildRegistry([{ folder: "${id}", version: "test", config, module }]);
  let database: TestDatabase;
  let rt: Runtime;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    rt = await useTestEnvironment(database, {}, { registry });
    ({ token } = await createUserWithToken("${id}@example.com"));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  it("has a valid config.json and a handler for every step", () => {
    expect(registry.problems).toEqual([]);
    expect([...registry.workflows.keys()]).toEqual([config.id]);
  });

  it("runs every step and completes with an image", async () => {
    const { POST } = await import("@/app/workflows/execute/route");
    const response = await POST(executeRequest(token, { workflow_id: config.id, prompt: "A lighthouse at dusk", seed: "1" }));
    const body = (await response.json()) as { job_id: string };
    expect(response.status, JSON.stringify(body)).toBe(202);
    const job = await waitForJobStatus(body.job_id, ["completed"], 60_000);
    expect(job.result).toEqual({ image_url: expect.any(String) });
    expect((await rt.providers.storage.read(job.result!.image_url as string)).contentType).toBe("image/png");
  });

  it("refuses a bad input with a 400 naming the field", async () => {
    const { POST } = await import("@/app/workflows/execute/route");
    const response = await POST(executeRequest(token, { workflow_id: config.id, prompt: "x", seed: "not a number" }));
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/^seed: /);
  });
});
`;
}

/** Writes the folder `dir` (default workflows/<id>) under `root`; refuses an id that is not one, or a folder that exists. */
export function scaffoldWorkflow(root: string, id: string, dir = path.join("workflows", id)): string[] {
  if (!WORKFLOW_ID.test(id)) throw new Error(`"${id}" is not a workflow id: use lowercase letters, digits and dashes (e.g. my-workflow).`);
  const folder = path.join(root, dir);
  if (existsSync(folder)) throw new Error(`${dir} already exists.`);
  mkdirSync(folder, { recursive: true });
  const files: [string, string][] = [
    ["config.json", configTemplate(id)],
    ["workflow.ts", workflowTemplate(id)],
    ["workflow.test.ts", testTemplate(id)],
  ];
  for (const [name, content] of files) writeFileSync(path.join(folder, name), content);
  return files.map(([name]) => path.join(dir, name));
}

if (isMainModule(import.meta.url)) {
  const id = process.argv[2];
  if (!id) {
    console.error("Usage: npm run workflow:new -- <id>   (e.g. npm run workflow:new -- poster-maker)");
    process.exit(2);
  }
  try {
    const written = scaffoldWorkflow(path.resolve(import.meta.dirname, ".."), id);
    console.log(`Wrote ${written.join(", ")}.`);
    console.log(`Next: npx vitest run workflows/${id} (runs it on the local models), then npm run dev: it is in /workflows. The guide: docs/workflows.md.`);
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
