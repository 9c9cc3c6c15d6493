import "server-only";
/**
 * Runs the workflow's models offline: each supported model id maps to a local capability that does
 * real media work (sharp for image edits, ffmpeg for video), speaking the model's Replicate inputs.
 */
import { HardError, isHardError } from "@/lib/workflows/errors";
import type { FaultSwitch } from "./faults";
import { editImage } from "./image-edit";
import { generateVideo } from "./video";
import type { HealthStatus, ModelOutput, ModelProvider, ModelRunRequest } from "../types";

const PROVIDER = "local-models";

/** Local models run on this machine: no provider bills them. */
const LOCAL_USAGE = { provider: PROVIDER, free: true, outputs: 1 } as const;

export type LocalCapability = "image_edit" | "video";

/** Model ids the local provider can run, and what each does. */
export const LOCAL_MODELS = {
  "google/nano-banana": "image_edit",
  "minimax/video-01": "video",
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

interface ParsedInput {
  prompt: string;
  imageUrl: string;
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

function parseInput(model: LocalModelId, input: Record<string, unknown>): ParsedInput {
  const prompt = readPrompt(model, input);
  if (LOCAL_MODELS[model] === "video") {
    return { prompt, imageUrl: readUrl(model, input.first_frame_image, "first_frame_image") };
  }
  const { image_input: imageInput, image } = input;
  if (imageInput !== undefined) {
    if (!Array.isArray(imageInput) || imageInput.length === 0) {
      throw invalidInput(model, '"image_input" must be a non-empty array of image URLs');
    }
    // The local edit works on one image; nano-banana's extra reference images are ignored.
    return { prompt, imageUrl: readUrl(model, imageInput[0], "image_input[0]") };
  }
  return { prompt, imageUrl: readUrl(model, image, "image_input") };
}

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
    const { prompt, imageUrl } = parseInput(model, request.input);
    await this.faults.apply(capability, { provider: PROVIDER, signal, jobId: request.jobId });
    signal.throwIfAborted();
    await request.onProgress(0, "Reading input image");
    const { body: image } = await this.readMedia(imageUrl, signal);
    signal.throwIfAborted();
    try {
      if (capability === "image_edit") {
        await request.onProgress(10, "Editing image");
        const body = await editImage(image, prompt, request.candidate ?? 0);
        signal.throwIfAborted();
        await request.onProgress(100, "Image edited");
        return { body, contentType: "image/png", usage: LOCAL_USAGE };
      }
      await request.onProgress(5, "Rendering video");
      const body = await generateVideo(image, prompt, {
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
