import { describe, expect, it } from "vitest";
import type { StepConfig } from "@/lib/workflows/definition";
import { actualStepCost, estimateStep, estimateWorkflow, toMicros, toUsd } from "@/lib/workflows/pricing";

const upload: StepConfig = { name: "upload", type: "input", label: "Upload" };
const perOutput: StepConfig = { name: "edit", type: "generation", label: "Edit", model: "google/nano-banana", pricing: { per: "output", usd: 0.039 } };
const perVideoSecond: StepConfig = {
  name: "video",
  type: "generation",
  label: "Video",
  model: "minimax/video-01",
  pricing: { per: "second_of_output", usd: 0.08, estimate_seconds: 6 },
};
const perComputeSecond: StepConfig = {
  name: "upscale",
  type: "generation",
  label: "Upscale",
  model: "owner/upscaler",
  pricing: { per: "second_of_compute", usd: 0.001525, estimate_seconds: 20 },
};
const unpriced: StepConfig = { name: "mystery", type: "generation", label: "Mystery", model: "owner/mystery" };

const paid = { localModels: false };

describe("estimates", () => {
  it("prices one output at its price", () => {
    expect(estimateStep(perOutput, 1, paid)).toEqual({ step: 1, stepName: "edit", basis: "priced", micros: 39_000 });
  });

  it("prices seconds of output at the assumed length", () => {
    expect(estimateStep(perVideoSecond, 2, paid).micros).toBe(480_000);
  });

  it("prices seconds of compute at the assumed compute time", () => {
    expect(estimateStep(perComputeSecond, 0, paid).micros).toBe(30_500);
  });

  it("multiplies model steps by the candidates, never the upload", () => {
    const estimate = estimateWorkflow({ steps: [upload, perOutput, perVideoSecond] }, { localModels: false, candidates: 3 });
    expect(estimate.steps.map((step) => step.micros)).toEqual([0, 117_000, 1_440_000]);
    expect(estimate.micros).toBe(1_557_000);
    expect(estimate.complete).toBe(true);
  });

  it("refuses a candidate count that is not a positive integer", () => {
    expect(() => estimateWorkflow({ steps: [perOutput] }, { localModels: false, candidates: 0 })).toThrow(RangeError);
    expect(() => estimateWorkflow({ steps: [perOutput] }, { localModels: false, candidates: 1.5 })).toThrow(RangeError);
  });

  it("says a step without pricing is unknown and the total a lower bound", () => {
    const estimate = estimateWorkflow({ steps: [upload, perOutput, unpriced] }, paid);
    expect(estimate.steps[2]).toEqual({ step: 2, stepName: "mystery", basis: "unpriced", micros: null });
    expect(estimate.micros).toBe(39_000);
    expect(estimate.complete).toBe(false);
  });

  it("costs nothing with local models, and says so", () => {
    const estimate = estimateWorkflow({ steps: [upload, perOutput, perVideoSecond, unpriced] }, { localModels: true, candidates: 4 });
    expect(estimate.steps.map((step) => step.basis)).toEqual(["no_model", "local", "local", "local"]);
    expect(estimate.micros).toBe(0);
    expect(estimate.complete).toBe(true);
  });

  it("counts money in exact micro-dollars", () => {
    expect(toMicros(0.1 + 0.2)).toBe(300_000);
    expect(toUsd(39_000)).toBe(0.039);
  });
});

describe("actual costs", () => {
  it("charges per output for each file a run produced", () => {
    expect(actualStepCost(perOutput, [{ free: false, outputs: 2 }])).toEqual({ basis: "priced", micros: 78_000 });
  });

  it("charges the reported compute time", () => {
    expect(actualStepCost(perComputeSecond, [{ free: false, computeSeconds: 12 }]).micros).toBe(18_300);
  });

  it("charges the reported video length, else the assumed one", () => {
    expect(actualStepCost(perVideoSecond, [{ free: false, outputSeconds: 5 }]).micros).toBe(400_000);
    expect(actualStepCost(perVideoSecond, [{ free: false }]).micros).toBe(480_000);
  });

  it("adds up every run a step made", () => {
    expect(actualStepCost(perComputeSecond, [{ free: false, computeSeconds: 10 }, { free: false, computeSeconds: 10 }]).micros).toBe(30_500);
  });

  it("is free for local runs and unknown without pricing", () => {
    expect(actualStepCost(perOutput, [{ free: true, outputs: 1 }])).toEqual({ basis: "local", micros: 0 });
    expect(actualStepCost(unpriced, [{ free: false, computeSeconds: 3 }])).toEqual({ basis: "unpriced", micros: null });
  });

  it("is zero for a step that ran no model", () => {
    expect(actualStepCost(upload, [])).toEqual({ basis: "no_model", micros: 0 });
  });
});
