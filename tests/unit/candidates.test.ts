import { describe, expect, it } from "vitest";
import { candidatePolicy, resolveCandidates } from "@/lib/workflows/candidates";
import { workflowConfigSchema, type Workflow } from "@/lib/workflows/definition";
import { estimateWorkflow } from "@/lib/workflows/pricing";

const workflow: Workflow = {
  config: workflowConfigSchema.parse({
    id: "shots",
    name: "Shots",
    steps: [
      { name: "upload", type: "input", label: "Upload" },
      { name: "edit", type: "generation", label: "Edit", model: "a/edit", pricing: { per: "output", usd: 0.04 } },
      { name: "shots", type: "generation", label: "Shots", model: "a/shots", candidates: 3, pricing: { per: "output", usd: 0.1 } },
      { name: "video", type: "generation", label: "Video", model: "a/video", candidates: false, pricing: { per: "output", usd: 0.5 } },
    ],
  }),
  handlers: {},
  version: "v",
};

describe("config.json's candidates on a step", () => {
  it("a number is the default; false forbids; absent allows a model step (default 1) and forbids one without a model", () => {
    expect(workflow.config.steps.map(candidatePolicy)).toEqual([
      { allowed: false, default: 1 },
      { allowed: true, default: 1 },
      { allowed: true, default: 3 },
      { allowed: false, default: 1 },
    ]);
    expect(() => workflowConfigSchema.parse({ ...workflow.config, steps: [{ name: "x", type: "t", label: "X", candidates: 5 }] })).toThrow();
    expect(() => workflowConfigSchema.parse({ ...workflow.config, steps: [{ name: "x", type: "t", label: "X", candidates: true }] })).toThrow();
  });

  it("resolves the caller's counts over the defaults, keeping only counts above 1, and names every refused request", () => {
    expect(resolveCandidates(workflow, {})).toEqual({ steps: { 2: 3 }, problems: [] });
    expect(resolveCandidates(workflow, { edit: "4", shots: 1 })).toEqual({ steps: { 1: 4 }, problems: [] });
    const refused = resolveCandidates(workflow, { nope: 2, upload: 2, video: 2, edit: 0, shots: "9" });
    expect(refused.problems).toHaveLength(5);
    expect(refused.problems.join(" ")).toMatch(/names no step.*does not run as candidates.*does not run as candidates.*from 1 to 4.*from 1 to 4/);
  });

  it("multiplies a step's estimate by its candidates", () => {
    const micros = (candidates?: number | Record<number, number>) => estimateWorkflow(workflow.config, { localModels: false, ...(candidates !== undefined && { candidates }) }).steps.map((step) => step.micros);
    expect(micros()).toEqual([0, 40_000, 100_000, 500_000]);
    expect(micros({ 1: 3, 2: 2 })).toEqual([0, 120_000, 200_000, 500_000]);
    expect(estimateWorkflow(workflow.config, { localModels: false, candidates: { 2: 3 } }).micros).toBe(40_000 + 300_000 + 500_000);
  });
});
