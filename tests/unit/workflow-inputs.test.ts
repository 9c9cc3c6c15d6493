import { describe, expect, it } from "vitest";
import { workflowConfigSchema, type StepConfig } from "@/lib/workflows/definition";
import { inputListSchema, resolveDeclaredInputs } from "@/lib/workflows/inputs";
import { mapModelInput, resolveModels, stepWithModel } from "@/lib/workflows/models";

/** The typed input declarations (config.json) and the one check built from them; model choice per step. */
describe("typed inputs", () => {
  const declared = inputListSchema.parse([
    { name: "prompt", label: "Prompt", type: "textarea", required: true, max_length: 10 },
    { name: "legacy", label: "Legacy (no type: text)", default: "kept" },
    { name: "ratio", label: "Ratio", type: "select", options: ["1:1", { value: "16:9", label: "Wide" }], default: "1:1" },
    { name: "steps", label: "Steps", type: "number", min: 1, max: 10, step: 0.5, default: 4 },
    { name: "loop", label: "Loop", type: "boolean" },
    { name: "seed", label: "Seed", type: "seed" },
    { name: "photo", label: "Photo", type: "image", required: true },
  ]);
  const resolve = (sent: Record<string, string>, randomSeed?: () => number) => resolveDeclaredInputs(declared, new Map(Object.entries(sent)), randomSeed ? { randomSeed } : {});

  it("applies defaults, keeps canonical text, and leaves the image to the upload", () => {
    expect(resolve({ prompt: " hi " }, () => 77)).toEqual({ inputs: { prompt: "hi", legacy: "kept", ratio: "1:1", steps: "4", loop: "false", seed: "77" }, problems: [] });
    expect(resolve({ prompt: "x", ratio: "16:9", steps: "2.50", loop: "on", seed: "007" }).inputs).toMatchObject({ ratio: "16:9", steps: "2.5", loop: "true", seed: "7" });
    // An estimate leaves an empty seed empty rather than picking one.
    expect(resolve({ prompt: "x" }).inputs.seed).toBe("");
  });

  it("names the field of every bad value", () => {
    const problems = resolve({ prompt: "", ratio: "4:3", steps: "10.25", loop: "sometimes", seed: "12345678901" }).problems;
    expect(problems.map((problem) => problem.field)).toEqual(["prompt", "ratio", "steps", "loop", "seed"]);
    expect(problems.every((problem) => problem.message.startsWith(`${problem.field}: `))).toBe(true);
    expect(resolve({ prompt: "x".repeat(11) }).problems[0]!.message).toBe("prompt: is longer than 10 characters.");
    expect(resolve({ prompt: "x", steps: "0.5" }).problems[0]!.message).toContain("at least 1");
  });

  it("refuses declarations that cannot work", () => {
    const problem = (inputs: unknown[]) => inputListSchema.safeParse(inputs).error?.issues.map((issue) => issue.message).join("; ");
    expect(problem([{ name: "a", label: "A", type: "select", options: ["x"], default: "y" }])).toMatch(/not one of the options/);
    expect(problem([{ name: "a", label: "A", type: "number", min: 5, max: 1 }])).toMatch(/min is greater than max/);
    expect(problem([{ name: "a", label: "A", type: "number", max: 3, default: 9 }])).toMatch(/default 9/);
    expect(problem([{ name: "a", label: "A", type: "colour" }])).toBeDefined();
    expect(problem([{ name: "workflow_id", label: "A" }])).toMatch(/field the API reads/);
    expect(problem([{ name: "a", label: "A" }, { name: "a", label: "B" }])).toMatch(/used twice/);
    // Several images are fine (the first is the job's upload, the others extra uploads), up to MAX_IMAGE_INPUTS.
    expect(problem([{ name: "a", label: "A", type: "image" }, { name: "b", label: "B", type: "image", required: true }])).toBeUndefined();
    expect(problem(["a", "b", "c", "d", "e"].map((name) => ({ name, label: name, type: "image" })))).toMatch(/at most 4 images/);
  });
});

describe("model choice per step", () => {
  const config = workflowConfigSchema.parse({
    id: "choice",
    name: "Choice",
    steps: [
      {
        name: "gen",
        type: "generation",
        label: "Gen",
        model: "a/fast",
        input: { size: 1 },
        pricing: { per: "output", usd: 1 },
        models: [
          { model: "a/fast" },
          { model: "b/slow", pricing: { per: "output", usd: 5 }, input: { quality: "high" }, input_map: { image: "input_image" } },
        ],
      },
      { name: "other", type: "generation", label: "Other", model: "c/only" },
    ],
  });

  it("defaults, accepts listed models, refuses others naming the field", () => {
    expect(resolveModels(config, {})).toEqual({ models: { gen: "a/fast" }, problems: [] });
    expect(resolveModels(config, { gen: "b/slow" })).toEqual({ models: { gen: "b/slow" }, problems: [] });
    expect(resolveModels(config, { gen: "z/z" }).problems[0]).toMatch(/^models\[gen\]: "z\/z" is not a model this step allows/);
    expect(resolveModels(config, { other: "c/only" }).problems[0]).toMatch(/^models\[other\]: the step other offers no choice/);
  });

  it("runs the step as the chosen model: its id, pricing, input and input names", () => {
    const step = stepWithModel(config.steps[0]!, "b/slow");
    expect(step).toMatchObject({ model: "b/slow", pricing: { usd: 5 }, input: { size: 1, quality: "high" } });
    expect(stepWithModel(config.steps[0]!, undefined)).toMatchObject({ model: "a/fast", pricing: { usd: 1 } });
    expect(mapModelInput(step, { image: "u", prompt: "p" })).toEqual({ input_image: "u", prompt: "p" });
    expect(stepWithModel(config.steps[1]! as StepConfig, "x/y")).toBe(config.steps[1]);
  });

  it("refuses a default that is not listed, and a model listed twice", () => {
    const bad = (steps: unknown[]) => workflowConfigSchema.safeParse({ id: "x", name: "X", steps }).error?.issues.map((issue) => issue.message).join("; ");
    expect(bad([{ name: "s", type: "generation", label: "S", model: "a/b", models: [{ model: "c/d" }] }])).toMatch(/not among its models/);
    expect(bad([{ name: "s", type: "generation", label: "S", models: [{ model: "c/d" }, { model: "c/d" }] }])).toMatch(/listed twice/);
  });
});
