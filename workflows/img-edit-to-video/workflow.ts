import { HardError } from "@/lib/workflows/errors";
import { defineWorkflow } from "@/lib/workflows/definition";
import type { StepContext } from "@/lib/workflows/step-context";

function extensionFor(contentType: string): string {
  return { "image/jpeg": "jpg", "image/png": "png", "image/webp": "webp", "video/mp4": "mp4" }[contentType] ?? "bin";
}

function mediaKey(ctx: StepContext, contentType: string): string {
  // Deterministic per job, step and candidate: a retried step overwrites its own output instead of adding one.
  const candidate = ctx.candidate > 0 ? `-c${ctx.candidate}` : "";
  return `jobs/${ctx.jobId}/${ctx.stepIndex}-${ctx.step.name}${candidate}.${extensionFor(contentType)}`;
}

function requireUrl(previous: Record<string, unknown>, field: string): string {
  const value = previous[field];
  if (typeof value !== "string") throw new HardError("invalid_input", `The previous step produced no ${field}`);
  return value;
}

async function runModel(ctx: StepContext, input: Record<string, unknown>) {
  if (!ctx.step.model) throw new HardError("invalid_config", `Step ${ctx.step.name} names no model`);
  return ctx.providers.models.run({
    model: ctx.step.model,
    input: { ...ctx.step.input, ...input },
    jobId: ctx.jobId,
    stepIndex: ctx.stepIndex,
    ...(ctx.candidate > 0 && { candidate: ctx.candidate }),
    signal: ctx.signal,
    onProgress: (percent, message) => ctx.progress(percent, message),
    state: ctx.state,
  });
}

export const handlers = defineWorkflow({
  async upload(ctx) {
    const file = await ctx.readUpload();
    await ctx.progress(30, "Uploading image");
    const stored = await ctx.providers.storage.put({
      key: mediaKey(ctx, file.contentType),
      body: file.body,
      contentType: file.contentType,
      resourceType: "image",
      signal: ctx.signal,
    });
    return { image_url: stored.url };
  },

  async image_edit(ctx) {
    const imageUrl = requireUrl(ctx.previous, "image_url");
    const edited = await runModel(ctx, { prompt: ctx.inputs.edit_prompt, image_input: [imageUrl] });
    const stored = await ctx.providers.storage.put({
      key: mediaKey(ctx, edited.contentType),
      body: edited.body,
      contentType: edited.contentType,
      resourceType: "image",
      signal: ctx.signal,
    });
    return { edited_image_url: stored.url };
  },

  async video_generation(ctx) {
    const imageUrl = requireUrl(ctx.previous, "edited_image_url");
    const video = await runModel(ctx, { prompt: ctx.inputs.video_prompt, first_frame_image: imageUrl });
    const stored = await ctx.providers.storage.put({
      key: mediaKey(ctx, video.contentType),
      body: video.body,
      contentType: video.contentType,
      resourceType: "video",
      signal: ctx.signal,
    });
    return { video_url: stored.url };
  },
});
