/**
 * Media in step outputs are URLs. Local storage serves them at `/files/...` (authenticated by the
 * session cookie), under an absolute URL built from APP_URL or PORT; the browser fetches them
 * same-origin instead, so the cookie goes along whatever host name the page was opened with.
 */
export function mediaSrc(url: string): string {
  try {
    const parsed = new URL(url, "http://montage.invalid");
    if (parsed.pathname.startsWith("/files/")) return parsed.pathname + parsed.search;
  } catch {
    // not a URL: returned as is and left to the browser
  }
  return url;
}

export type MediaKind = "image" | "video";

export function mediaKind(url: string): MediaKind | null {
  const path = url.split(/[?#]/)[0]!.toLowerCase();
  if (/\.(png|jpe?g|webp|gif|avif)$/.test(path)) return "image";
  if (/\.(mp4|webm|mov|m4v)$/.test(path)) return "video";
  return null;
}

/** The media URLs of a step output or a result, in key order. */
export function mediaOf(output: Record<string, unknown> | null | undefined): { key: string; url: string; kind: MediaKind }[] {
  if (!output) return [];
  return Object.entries(output).flatMap(([key, value]) => {
    if (typeof value !== "string") return [];
    const kind = mediaKind(value);
    return kind ? [{ key, url: value, kind }] : [];
  });
}

export function resultVideo(result: Record<string, unknown> | null | undefined): string | null {
  return mediaOf(result).find((media) => media.kind === "video")?.url ?? null;
}
