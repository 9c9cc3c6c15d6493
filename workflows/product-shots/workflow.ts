import { defineWorkflow, numberInput, previousUrl, runModel, storeMedia } from "@/lib/workflows/public";

/** Product Shots: the photo's background removed, the cutout placed into a described scene, the result upscaled. The result is an image. */
export const handlers = defineWorkflow({
  async upload(ctx) {
    const file = await ctx.readUpload();
    await ctx.progress(30, "Uploading the photo");
    return { image_url: await storeMedia(ctx, file, "image") };
  },

  async background_removal(ctx) {
    const cutout = await runModel(ctx, { image: previousUrl(ctx, "image_url") });
    return { cutout_url: await storeMedia(ctx, cutout, "image") };
  },

  // Runs as 3 candidates by default (config.json): each candidate's seed is its own, so the scenes differ and a rerun repeats them.
  async scene(ctx) {
    const seed = numberInput(ctx, "seed");
    const candidateSeed = seed === undefined ? undefined : seed + Math.max(0, ctx.candidate - 1);
    const shot = await runModel(ctx, { prompt: ctx.inputs.scene_prompt, input_image: previousUrl(ctx, "cutout_url"), aspect_ratio: ctx.inputs.aspect_ratio, ...(candidateSeed !== undefined && { seed: candidateSeed }) });
    return { scene_url: await storeMedia(ctx, shot, "image") };
  },

  async upscale(ctx) {
    const large = await runModel(ctx, { image: previousUrl(ctx, "scene_url") });
    return { image_url: await storeMedia(ctx, large, "image") };
  },
});
