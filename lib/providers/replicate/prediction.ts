import "server-only";
/** What a Replicate prediction says: whether to re-attach to it, its progress, its output and what it cost. */
import { parseProgressFromLogs } from "replicate";
import type { Prediction } from "replicate";

import { HardError } from "@/lib/workflows/errors";
import { mp4DurationSeconds } from "@/lib/providers/media-duration";
import type { ModelOutput, ModelUsage } from "@/lib/providers/types";
import { PROVIDER } from "./errors";

export const TERMINAL_STATUSES = new Set(["succeeded", "failed", "canceled", "aborted"]);
const DEAD_STATUSES = new Set(["failed", "canceled", "aborted"]);

/** A saved prediction worth re-attaching to: still running, or succeeded with its output still there. */
export function isReusable(prediction: Prediction): boolean {
  if (DEAD_STATUSES.has(prediction.status)) return false;
  if (prediction.status === "succeeded") return !prediction.data_removed && firstOutputUrl(prediction.output) !== undefined;
  return true;
}

/** Guards against a state saved by another step or model (model-based predictions name their model). */
export function isSameModel(prediction: Prediction, model: string): boolean {
  return !prediction.model || prediction.model === model.split(":")[0];
}

export function progressOf(prediction: Prediction): [number, string] {
  if (prediction.status === "starting") return [5, "Waiting for Replicate to start the model"];
  const parsed = parseProgressFromLogs(prediction);
  if (parsed) return [10 + Math.round(parsed.percentage * 75), `Running on Replicate (${parsed.current}/${parsed.total})`];
  return [10, "Running on Replicate"];
}

/** What the prediction costs: Replicate bills its hardware time; the outputs and the video length serve the other pricing forms. */
export function usageOf(prediction: Prediction, body: Buffer, contentType: string): ModelUsage {
  const predictTime = (prediction.metrics as { predict_time?: unknown } | undefined)?.predict_time;
  const outputSeconds = contentType === "video/mp4" ? mp4DurationSeconds(body) : undefined;
  return {
    provider: PROVIDER,
    free: false,
    outputs: Math.max(1, outputUrlCount(prediction.output)),
    ...(typeof predictTime === "number" && Number.isFinite(predictTime) && predictTime >= 0 && { computeSeconds: predictTime }),
    ...(outputSeconds !== undefined && { outputSeconds }),
  };
}

function outputUrlCount(output: unknown): number {
  if (typeof output === "string") return /^(https?:|data:)/.test(output) ? 1 : 0;
  if (Array.isArray(output)) return output.reduce((sum: number, item) => sum + outputUrlCount(item), 0);
  if (typeof output === "object" && output !== null) return outputUrlCount(Object.values(output));
  return 0;
}

/** The first file URL in an output: a string, an array of them, or an object holding them. */
export function firstOutputUrl(output: unknown): string | undefined {
  if (typeof output === "string") return /^(https?:|data:)/.test(output) ? output : undefined;
  if (Array.isArray(output)) {
    for (const item of output) {
      const url = firstOutputUrl(item);
      if (url) return url;
    }
    return undefined;
  }
  if (typeof output === "object" && output !== null) return firstOutputUrl(Object.values(output));
  return undefined;
}

export function decodeDataUri(uri: string): ModelOutput {
  const match = /^data:([^;,]*)(;base64)?,([\s\S]*)$/.exec(uri);
  if (!match) throw new HardError("prediction_output_missing", "Replicate returned a malformed data URI", { provider: PROVIDER });
  const [, type, base64, data = ""] = match;
  return {
    body: base64 ? Buffer.from(data, "base64") : Buffer.from(decodeURIComponent(data)),
    contentType: type || "application/octet-stream",
  };
}

const EXTENSION_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
};

/** Delivery hosts sometimes answer application/octet-stream; the file name knows better. */
export function refineContentType(contentType: string, url: string): string {
  if (contentType && contentType !== "application/octet-stream" && contentType !== "binary/octet-stream") return contentType;
  if (url.startsWith("data:")) return contentType;
  const extension = /\.([a-z0-9]+)$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
  return (extension && EXTENSION_TYPES[extension]) || contentType || "application/octet-stream";
}
