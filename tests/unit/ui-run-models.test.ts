import { describe, expect, it } from "vitest";
import type { Workflow } from "@/components/api/types";
import { chosenModelsNote, runModels } from "@/components/runs/run-models";

const schnell = "black-forest-labs/flux-schnell";
const dev = "black-forest-labs/flux-dev";
const workflow = {
  steps: [
    { name: "generate_image", type: "generation", label: "Generate image", model: schnell, models: [{ model: schnell, label: "FLUX schnell (fast)", estimated_usd: 0.003 }, { model: dev, label: "FLUX dev (detailed)", estimated_usd: 0.025 }] },
    { name: "video_generation", type: "generation", label: "Video", model: "minimax/video-01" },
    { name: "cutout", type: "generation", label: "Cut out", model: "a/one", models: [{ model: "a/one", label: "One", estimated_usd: 0 }, { model: "b/two", label: "Two", estimated_usd: 0 }] },
  ],
} as unknown as Workflow;

/** What the run's facts and the Runs list say of the models a run chose (job.models). */
describe("the models a run chose", () => {
  it("lists each step's model in the workflow's order, with its label and whether it is the default", () => {
    expect(runModels({ models: { cutout: "b/two", generate_image: schnell } }, workflow)).toEqual([
      { step: "generate_image", stepLabel: "Generate image", model: schnell, label: "FLUX schnell (fast)", isDefault: true },
      { step: "cutout", stepLabel: "Cut out", model: "b/two", label: "Two", isDefault: false },
    ]);
    expect(runModels({ models: {} }, workflow)).toEqual([]);
  });

  it("names a model the workflow no longer lists, or a workflow not installed, by its id", () => {
    expect(runModels({ models: { generate_image: "stability-ai/sdxl" } }, workflow)).toEqual([
      { step: "generate_image", stepLabel: "Generate image", model: "stability-ai/sdxl", label: "stability-ai/sdxl", isDefault: false },
    ]);
    expect(runModels({ models: { generate_image: dev } }, undefined)).toEqual([{ step: "generate_image", stepLabel: "generate_image", model: dev, label: dev, isDefault: false }]);
  });

  it("gives a Runs list row a note only for models other than the defaults", () => {
    expect(chosenModelsNote({ models: { generate_image: schnell, cutout: "a/one" } }, workflow)).toBeNull();
    expect(chosenModelsNote({ models: { generate_image: dev, cutout: "a/one" } }, workflow)).toBe("FLUX dev (detailed)");
    expect(chosenModelsNote({ models: { generate_image: dev, cutout: "b/two" } }, workflow)).toBe("FLUX dev (detailed), Two");
    // Without the workflow nothing says what its default is: no note rather than a wrong one.
    expect(chosenModelsNote({ models: { generate_image: dev } }, undefined)).toBeNull();
  });
});
