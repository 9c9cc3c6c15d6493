import "server-only";
import sharp from "sharp";
import { ApiError } from "@/lib/api/errors";

export const SUPPORTED_IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp"] as const;
export type SupportedImageType = (typeof SUPPORTED_IMAGE_TYPES)[number];

/** The type an image really is, by its first bytes. Headers and extensions are never trusted. */
export function sniffImageType(data: Buffer): SupportedImageType | undefined {
  if (data.length >= 3 && data[0] === 0xff && data[1] === 0xd8 && data[2] === 0xff) return "image/jpeg";
  if (data.length >= 8 && data.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) return "image/png";
  if (data.length >= 12 && data.toString("latin1", 0, 4) === "RIFF" && data.toString("latin1", 8, 12) === "WEBP") return "image/webp";
  return undefined;
}

export interface CheckedImage {
  contentType: SupportedImageType;
  width: number;
  height: number;
}

/**
 * Accepts only JPEG, PNG and WebP that decode completely, within the pixel limit. The limit is
 * checked from the header before decoding, so a decompression bomb is refused without being
 * inflated.
 */
export async function checkImage(data: Buffer, maxPixels: number): Promise<CheckedImage> {
  if (data.length === 0) throw new ApiError("invalid_input", "The file is empty.");
  const contentType = sniffImageType(data);
  if (!contentType) throw new ApiError("unsupported_media_type", "The file is not a JPEG, PNG or WebP image.");
  let width: number | undefined;
  let height: number | undefined;
  try {
    ({ width, height } = await sharp(data, { limitInputPixels: false }).metadata());
  } catch {
    throw new ApiError("invalid_input", "The image cannot be read: it is corrupt or truncated.");
  }
  if (!width || !height) throw new ApiError("invalid_input", "The image has no dimensions.");
  if (width * height > maxPixels) {
    throw new ApiError("invalid_input", `The image is ${width}×${height} pixels; the limit is ${maxPixels} pixels.`);
  }
  try {
    await sharp(data, { limitInputPixels: maxPixels, failOn: "truncated" }).resize(32, 32, { fit: "inside" }).toBuffer();
  } catch {
    throw new ApiError("invalid_input", "The image cannot be decoded: it is corrupt or truncated.");
  }
  return { contentType, width, height };
}
