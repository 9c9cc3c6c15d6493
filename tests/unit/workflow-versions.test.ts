import { describe, expect, it } from "vitest";
import { describeWorkflowChange, workflowChangedMessage } from "@/lib/workflows/versions";

const steps = [
  { name: "upload", type: "input" },
  { name: "image_edit", type: "generation", model: "google/nano-banana" },
  { name: "video_generation", type: "generation", model: "minimax/video-01" },
];
const pinned = { id: "img-edit-to-video", name: "Image Edit to Video", steps: steps.map((step) => ({ ...step, label: step.name })) };

describe("describeWorkflowChange: can a job resume at a step on the workflow installed now?", () => {
  it("resumes when the steps up to and including the resume step are the same", () => {
    expect(describeWorkflowChange(pinned, steps, 2)).toBeUndefined();
    // Later steps may change: a job resuming at step 2 (index 1) does not care about step 3.
    expect(describeWorkflowChange(pinned, [steps[0]!, steps[1]!, { name: "upscale", type: "generation" }], 1)).toBeUndefined();
    // Labels, prompts and other config may change too.
    expect(describeWorkflowChange({ ...pinned, steps: pinned.steps.map((step) => ({ ...step, label: "Renamed label", input: { x: 1 } })) }, steps, 2)).toBeUndefined();
  });

  it("refuses a renamed, removed, reordered, retyped or re-modelled step at or before the resume step", () => {
    expect(describeWorkflowChange(pinned, [steps[0]!, { ...steps[1]!, name: "edit" }, steps[2]!], 1)).toBe('step 2 was "image_edit" and is now "edit"');
    expect(describeWorkflowChange(pinned, [steps[0]!, steps[1]!], 2)).toBe('step 3 ("video_generation") was removed');
    expect(describeWorkflowChange(pinned, [steps[1]!, steps[0]!, steps[2]!], 2)).toBe('step 1 was "upload" and is now "image_edit"');
    expect(describeWorkflowChange(pinned, [{ ...steps[0]!, type: "generation" }, steps[1]!, steps[2]!], 0)).toBe('step 1 ("upload") changed its type from input to generation');
    expect(describeWorkflowChange(pinned, [steps[0]!, { ...steps[1]!, model: "black-forest-labs/flux-kontext" }, steps[2]!], 1)).toBe(
      'step 2 ("image_edit") changed its model from google/nano-banana to black-forest-labs/flux-kontext',
    );
  });

  describe("a step that offers a choice of model: judged by the model the job runs there, not the step's default", () => {
    const schnell = "black-forest-labs/flux-schnell";
    const dev = "black-forest-labs/flux-dev";
    const pro = "black-forest-labs/flux-pro";
    const generate = { name: "generate_image", type: "generation", model: schnell, models: [{ model: schnell }, { model: dev }] };
    const video = { name: "video_generation", type: "generation", model: "minimax/video-01" };
    const chose = { id: "text-to-video", name: "Text to Video", steps: [generate, video] };

    it("refuses a job whose chosen model the step no longer offers, though the default is unchanged", () => {
      const withoutDev = [{ ...generate, models: [{ model: schnell }, { model: pro }] }, video];
      expect(describeWorkflowChange(chose, withoutDev, 1, { generate_image: dev })).toBe(`step 1 ("generate_image") no longer offers ${dev}, the model this job runs there`);
      // A job that ran the default there is unaffected; so is one from before models were recorded.
      expect(describeWorkflowChange(chose, withoutDev, 1, { generate_image: schnell })).toBeUndefined();
      expect(describeWorkflowChange(chose, withoutDev, 1)).toBeUndefined();
      // A step that no longer offers a choice runs its one model: the job's was another.
      expect(describeWorkflowChange(chose, [{ name: "generate_image", type: "generation", model: schnell }, video], 0, { generate_image: dev })).toBe(
        `step 1 ("generate_image") changed its model from ${dev} to ${schnell}`,
      );
    });

    it("resumes a job whose model the step still offers, though the step's default changed", () => {
      const newDefault = [{ ...generate, model: pro, models: [{ model: pro }, { model: schnell }, { model: dev }] }, video];
      expect(describeWorkflowChange(chose, newDefault, 1, { generate_image: dev })).toBeUndefined();
      expect(describeWorkflowChange(chose, newDefault, 1, { generate_image: schnell })).toBeUndefined();
      // Without a recorded choice the job runs the default, which changed.
      expect(describeWorkflowChange(chose, newDefault, 1)).toBe(`step 1 ("generate_image") changed its model from ${schnell} to ${pro}`);
    });

    it("reads a stored step whose choices are malformed by its model alone", () => {
      const odd = { ...chose, steps: [{ ...generate, models: "not a list" }, video] };
      expect(describeWorkflowChange(odd, [generate, video], 1)).toBeUndefined();
    });
  });

  it("counts a version it cannot read as changed", () => {
    expect(describeWorkflowChange({ nonsense: true }, steps, 0)).toBe("the version this job started with could not be read");
  });

  it("says what changed and what to do", () => {
    expect(workflowChangedMessage("Image Edit to Video", 'step 2 was "image_edit" and is now "edit"')).toBe(
      'The workflow "Image Edit to Video" changed since this job started (step 2 was "image_edit" and is now "edit"), so it cannot resume where it stopped. Start a new run.',
    );
  });
});
