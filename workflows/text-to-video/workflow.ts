import { defineWorkflow, numberInput, previousUrl, runModel, storeMedia } from "@/lib/workflows/public";

/**
 * Text to Video: no upload needed. An image from the prompt (at the chosen aspect ratio and seed),
 * then a video that starts on it, keeping the character of an optional reference image.
 */
export const handlers = defineWorkflow({
  // As candidates (candidates[image_generation]=n), each candidate draws with its own seed, so the images differ.
  async image_generation(ctx) {
    const given = numberInput(ctx, "seed");
    const seed = given === undefined ? undefined : given + Math.max(0, ctx.candidate - 1);
    const image = await runModel(ctx, {
      prompt: ctx.inputs.prompt,
      aspect_ratio: ctx.inputs.aspect_ratio,
      num_inference_steps: numberInput(ctx, "image_steps"),
      ...(seed !== undefined && { seed }),
    });
    return { image_url: await storeMedia(ctx, image, "image") };
  },

  async video_generation(ctx) {
    // The optional character reference (an image input): kept in storage so the model can fetch it by URL.
    const reference = await ctx.readInputImage("subject_reference");
    const subjectReference = reference && (await storeMedia(ctx, reference, "image", "-subject-reference"));
    const video = await runModel(ctx, {
      prompt: `${ctx.inputs.prompt}. ${ctx.inputs.video_prompt}`,
      first_frame_image: previousUrl(ctx, "image_url"),
      prompt_optimizer: ctx.inputs.prompt_optimizer === "true",
      ...(subjectReference && { subject_reference: subjectReference }),
    });
    return { video_url: await storeMedia(ctx, video, "video") };
  },
});
