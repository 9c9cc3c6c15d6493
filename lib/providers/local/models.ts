import "server-only";
/**
 * Runs the workflow's models offline: each supported model id maps to a local capability that does
 * real media work (sharp for image edits, ffmpeg for video), speaking the model's Replicate inputs.
 */
import { HardError, isHardError } from "@/lib/workflows/errors";
import type { FaultSwitch } from "./faults";
import { editImage } from "./image-edit";
import { placeInScene, removeBackground, renderFromPrompt, upscale, withSubjectInset, type StillFormat } from "./stills";
import { generateVideo } from "./video";
import type { HealthStatus, ModelOutput, ModelProvider, ModelRunRequest } from "../types";

const PROVIDER = "local-models";

/** Local models run on this machine: no provider bills them. */
const LOCAL_USAGE = { provider: PROVIDER, free: true, outputs: 1 } as const;

export type LocalCapability = "image_edit" | "video" | "text_to_image" | "background_removal" | "scene" | "upscale";

/** Model ids the local provider can run, and what each does (lib/providers/local/stills.ts for the stills). */
export const LOCAL_MODELS = {
  "google/nano-banana": "image_edit",
  "minimax/video-01": "video",
  "black-forest-labs/flux-schnell": "text_to_image",
  "black-forest-labs/flux-dev": "text_to_image",
  "851-labs/background-remover": "background_removal",
  "lucataco/remove-bg": "background_removal",
  "black-forest-labs/flux-kontext-pro": "scene",
  "nightmareai/real-esrgan": "upscale",
} as const satisfies Record<string, LocalCapability>;

export type LocalModelId = keyof typeof LOCAL_MODELS;

export function isLocalModel(model: string): model is LocalModelId {
  return Object.hasOwn(LOCAL_MODELS, model);
}

export interface LocalModelsOptions {
  /** Fetches an input image by the URL the workflow passed (in the default mode: LocalStorage.read). */
  readMedia(url: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType: string }>;
  faults: FaultSwitch;
  /** A system ffmpeg to use instead of the bundled one. */
  ffmpegPath?: string;
}

function invalidInput(model: string, message: string): HardError {
  return new HardError("invalid_input", `${model}: ${message}`, { provider: PROVIDER });
}

function readPrompt(model: string, input: Record<string, unknown>): string {
  const { prompt } = input;
  if (typeof prompt !== "string" || prompt.trim() === "") throw invalidInput(model, '"prompt" must be a non-empty string');
  return prompt;
}

function readUrl(model: string, value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw invalidInput(model, `"${field}" must be an image URL`);
  return value;
}

/** The input image's URL, in the field the model names it (as on Replicate). */
function imageUrlOf(model: LocalModelId, input: Record<string, unknown>): string {
  switch (LOCAL_MODELS[model]) {
    case "video":
      return readUrl(model, input.first_frame_image, "first_frame_image");
    case "scene":
      return readUrl(model, input.input_image, "input_image");
    case "background_removal":
    case "upscale":
      return readUrl(model, input.image, "image");
    default: {
      const { image_input: imageInput, image } = input;
      if (imageInput !== undefined) {
        if (!Array.isArray(imageInput) || imageInput.length === 0) throw invalidInput(model, '"image_input" must be a non-empty array of image URLs');
        // The local edit works on one image; nano-banana's extra reference images are ignored.
        return readUrl(model, imageInput[0], "image_input[0]");
      }
      return readUrl(model, image, "image_input");
    }
  }
}

/** A seed as the models take it: a whole number; none given, 0 (the local stand-ins are deterministic). */
function readSeed(model: string, value: unknown): number {
  if (value === undefined || value === null || value === "") return 0;
  const seed = typeof value === "string" ? Number(value) : value;
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 0) throw invalidInput(model, '"seed" must be a non-negative integer');
  return seed;
}

function readFormat(model: string, value: unknown): StillFormat {
  if (value === undefined) return "png";
  if (value === "png" || value === "webp" || value === "jpg") return value;
  throw invalidInput(model, '"output_format" must be png, webp or jpg');
}

const CONTENT_TYPES: Record<StillFormat, string> = { png: "image/png", webp: "image/webp", jpg: "image/jpeg" };

/** Helpers throw HardErrors without a provider; name ourselves so the health gate and logs know. */
function claim(error: unknown): unknown {
  if (isHardError(error) && error.provider === undefined) {
    return new HardError(error.code, error.message, { provider: PROVIDER, cause: error });
  }
  return error;
}

export class LocalModels implements ModelProvider {
  readonly name = PROVIDER;
  private readonly readMedia: LocalModelsOptions["readMedia"];
  private readonly faults: FaultSwitch;
  private readonly ffmpegPath: string | undefined;

  constructor(options: LocalModelsOptions) {
    this.readMedia = options.readMedia;
    this.faults = options.faults;
    this.ffmpegPath = options.ffmpegPath;
  }

  async run(request: ModelRunRequest): Promise<ModelOutput> {
    const { model, signal } = request;
    if (!isLocalModel(model)) {
      throw new HardError(
        "unsupported_model",
        `Model "${model}" cannot run locally; supported: ${Object.keys(LOCAL_MODELS).join(", ")}`,
        { provider: PROVIDER },
      );
    }
    const capability = LOCAL_MODELS[model];
    const input = request.input;
    // Inputs are checked before the fault switch and any work, as a provider validates first.
    const prompt = capability === "background_removal" || capability === "upscale" ? "" : readPrompt(model, input);
    const imageUrl = capability === "text_to_image" ? undefined : imageUrlOf(model, input);
    // video-01's optional character reference (the local stand-in insets it: lib/providers/local/stills.ts).
    const subjectUrl = capability === "video" && input.subject_reference !== undefined ? readUrl(model, input.subject_reference, "subject_reference") : undefined;
    await this.faults.apply(capability, { provider: PROVIDER, signal, jobId: request.jobId });
    signal.throwIfAborted();
    try {
      if (capability === "text_to_image") {
        const format = readFormat(model, input.output_format);
        await request.onProgress(10, "Rendering image");
        const body = await renderFromPrompt(prompt, readSeed(model, input.seed), typeof input.aspect_ratio === "string" ? input.aspect_ratio : "1:1", format);
        await request.onProgress(100, "Image rendered");
        return { body, contentType: CONTENT_TYPES[format], usage: LOCAL_USAGE };
      }
      await request.onProgress(0, "Reading input image");
      const { body: image } = await this.readMedia(imageUrl!, signal);
      signal.throwIfAborted();
      switch (capability) {
        case "image_edit": {
          await request.onProgress(10, "Editing image");
          const body = await editImage(image, prompt, request.candidate ?? 0);
          signal.throwIfAborted();
          await request.onProgress(100, "Image edited");
          return { body, contentType: "image/png", usage: LOCAL_USAGE };
        }
        case "background_removal": {
          await request.onProgress(10, "Removing the background");
          const body = await removeBackground(image);
          await request.onProgress(100, "Background removed");
          return { body, contentType: "image/png", usage: LOCAL_USAGE };
        }
        case "scene": {
          await request.onProgress(10, "Placing into the scene");
          const ratio = typeof input.aspect_ratio === "string" && input.aspect_ratio !== "match_input_image" ? input.aspect_ratio : "1:1";
          const body = await placeInScene(image, prompt, readSeed(model, input.seed), ratio);
          await request.onProgress(100, "Scene composed");
          return { body, contentType: "image/png", usage: LOCAL_USAGE };
        }
        case "upscale": {
          await request.onProgress(10, "Upscaling");
          const scale = input.scale === undefined ? 4 : Number(input.scale);
          const body = await upscale(image, scale);
          await request.onProgress(100, "Upscaled");
          return { body, contentType: "image/png", usage: LOCAL_USAGE };
        }
        case "video":
          break;
      }
      const firstFrame = subjectUrl === undefined ? image : await withSubjectInset(image, (await this.readMedia(subjectUrl, signal)).body);
      signal.throwIfAborted();
      await request.onProgress(5, "Rendering video");
      const body = await generateVideo(firstFrame, prompt, {
        signal,
        ...(this.ffmpegPath !== undefined && { ffmpegPath: this.ffmpegPath }),
        // Leave the first 5% to reading the input and the final 100 to the end of the run.
        onProgress: (percent) => request.onProgress(Math.min(99, 5 + Math.floor(percent * 0.94)), "Rendering video"),
      });
      await request.onProgress(100, "Video rendered");
      return { body, contentType: "video/mp4", usage: LOCAL_USAGE };
    } catch (error) {
      throw claim(error);
    }
  }

  async checkHealth(): Promise<HealthStatus> {
    return { healthy: true };
  }
}
