import "server-only";
/**
 * Replicate reads file inputs from URLs it fetches itself. Media on Montage's local storage lives at
 * `APP_URL/files/...`, behind sign-in and usually on localhost: Replicate cannot fetch it. With local
 * storage, such URLs are therefore sent as data URIs (read through the storage). Replicate recommends
 * data URIs for files under about 1 MB and its SDK refuses more than 10 MB per prediction, so this is
 * for development; production uses Cloudinary, whose delivery URLs Replicate fetches directly.
 */
import { HardError } from "@/lib/workflows/errors";
import { PROVIDER } from "./errors";

/** The SDK's own limit for inline files in one prediction. */
export const MAX_INLINE_BYTES = 10_000_000;

export interface InlineMediaSource {
  /** True for URLs Replicate cannot fetch (this storage's own). Only http(s) strings are asked. */
  owns(url: string): boolean;
  read(url: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType: string }>;
}

/** The input with every URL `source` owns replaced by a data URI, at any depth of arrays and objects. */
export async function inlineMediaUrls(
  input: Record<string, unknown>,
  source: InlineMediaSource,
  signal: AbortSignal,
  maxBytes = MAX_INLINE_BYTES,
): Promise<Record<string, unknown>> {
  let total = 0;
  const visit = async (value: unknown): Promise<unknown> => {
    if (typeof value === "string") {
      if (!/^https?:\/\//i.test(value) || !source.owns(value)) return value;
      const media = await source.read(value, signal);
      total += media.body.length;
      if (total > maxBytes) {
        throw new HardError(
          "input_too_large",
          `Inputs of ${total} bytes are too large to send to Replicate inline (limit ${maxBytes}); configure Cloudinary storage (CLOUDINARY_URL) for media this size`,
          { provider: PROVIDER },
        );
      }
      return `data:${media.contentType};base64,${media.body.toString("base64")}`;
    }
    if (Array.isArray(value)) {
      const items: unknown[] = [];
      for (const item of value) items.push(await visit(item));
      return items;
    }
    if (typeof value === "object" && value !== null) {
      const entries: [string, unknown][] = [];
      for (const [key, item] of Object.entries(value)) entries.push([key, await visit(item)]);
      return Object.fromEntries(entries);
    }
    return value;
  };
  return (await visit(input)) as Record<string, unknown>;
}
