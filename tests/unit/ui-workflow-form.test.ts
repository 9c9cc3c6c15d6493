import { describe, expect, it } from "vitest";
import type { Workflow, WorkflowInput } from "@/components/api/types";
import { extraImageInputsOf, extraImagesProblem } from "@/components/workflows/extra-image-inputs";
import { defaultText, fieldError } from "@/components/workflows/input-checks";
import { estimateWithModels } from "@/components/workflows/model-choices";
import { extraImagesRefillProblem, fileNameOf, jobImageUrl, runAgainNote } from "@/components/workflows/refill";

/** The new-run form's own checks (the server's limits, shown next to the field) and its estimate for the chosen models. */
describe("the generated new-run form", () => {
  const number: WorkflowInput = { name: "steps", label: "Steps", type: "number", required: false, min: 1, max: 4, step: 1, default: 4 };
  const seed: WorkflowInput = { name: "seed", label: "Seed", type: "seed", required: false };
  const prompt: WorkflowInput = { name: "prompt", label: "Prompt", type: "textarea", required: true, max_length: 5 };

  it("says what is wrong with a value in the field's own words", () => {
    expect(fieldError(number, "9")).toBe("Steps must be at most 4.");
    expect(fieldError(number, "1.5")).toBe("Steps must go in steps of 1.");
    expect(fieldError(number, "x")).toBe("Steps must be a number.");
    expect(fieldError(number, "")).toBeNull();
    expect(fieldError(seed, "-3")).toMatch(/^Seed must be a whole number/);
    expect(fieldError(seed, "")).toBeNull();
    expect(fieldError(prompt, "")).toBe("Prompt is required.");
    expect(fieldError(prompt, "🎬🎬🎬🎬🎬")).toBeNull();
    expect(fieldError(prompt, "toolong")).toBe("Prompt is longer than 5 characters.");
    expect([defaultText(number), defaultText(seed), defaultText({ name: "b", label: "B", type: "boolean", required: false, default: true })]).toEqual(["4", "", "true"]);
  });

  it("gives each image input after the first a picker of its own, and waits for a required one and for every picked one's checks", () => {
    const workflow = {
      inputs: [
        { name: "photo", label: "Photo", type: "image", required: true },
        prompt,
        { name: "style", label: "Style reference", type: "image", required: true },
        { name: "mask", label: "Mask", type: "image", required: false },
      ],
    } as unknown as Workflow;
    expect(extraImageInputsOf(workflow).map((input) => input.name)).toEqual(["style", "mask"]);
    const file = new File([new Uint8Array([1])], "s.png", { type: "image/png" });
    expect(extraImagesProblem(workflow, {})).toBe("Add the style reference.");
    expect(extraImagesProblem(workflow, { style: { file, ok: false, error: null } })).toBe("Checking the images…");
    expect(extraImagesProblem(workflow, { style: { file, ok: false, error: "s.png is empty." } })).toBe("Fix the style reference first.");
    expect(extraImagesProblem(workflow, { style: { file, ok: true, error: null } })).toBeNull();
    expect(extraImagesProblem(workflow, { style: { file, ok: true, error: null }, mask: { file, ok: false, error: "bad" } })).toBe("Fix the mask first.");
  });

  it("prices the estimate with the chosen model instead of the default", () => {
    const workflow = {
      estimate: { total_usd: 0.503, currency: "USD", complete: true, candidates: 1, note: null, steps: [] },
      steps: [
        { name: "image", type: "generation", label: "Image", model: "a/fast", models: [{ model: "a/fast", label: "Fast", estimated_usd: 0.003 }, { model: "b/dev", label: "Dev", estimated_usd: 0.025 }, { model: "c/unknown", label: "?", estimated_usd: null }] },
        { name: "video", type: "generation", label: "Video", model: "m/v" },
      ],
    } as unknown as Workflow;
    expect(estimateWithModels(workflow, {}).total_usd).toBe(0.503);
    expect(estimateWithModels(workflow, { "models[image]": "b/dev" }).total_usd).toBe(0.525);
    expect(estimateWithModels(workflow, { "models[image]": "c/unknown" })).toMatchObject({ total_usd: 0.5, complete: false });
  });

  it("puts back each image Run again fetches under the name it was sent with, and says truly what it put back and what to add again", () => {
    expect(jobImageUrl("j1")).toBe("/jobs/j1/input");
    expect(jobImageUrl("j1", "style")).toBe("/jobs/j1/input/style");
    expect(fileNameOf('inline; filename="style ref.png"', "style")).toBe("style ref.png");
    expect(fileNameOf(null, "style")).toBe("style");
    expect(fileNameOf('inline; filename=""', "style")).toBe("style");
    expect(extraImagesRefillProblem([])).toBeNull();
    expect(extraImagesRefillProblem(["Style reference"])).toBe("The style reference of that run could not be loaded. Add it again to run.");
    expect(extraImagesRefillProblem(["Style reference", "Mask"])).toBe("The style reference and the mask of that run could not be loaded. Add them again to run.");
    expect([0, 1, 3].map(runAgainNote)).toEqual([
      "The form has that run's inputs again: change what you like, then press Execute.",
      "The form has that run's image and inputs again: change what you like, then press Execute.",
      "The form has that run's images and inputs again: change what you like, then press Execute.",
    ]);
  });
});
