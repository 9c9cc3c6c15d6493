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

/** One media output of a step, as the tracker, the result and the run page show it. */
export interface StepMedia {
  step: number;
  stepLabel: string;
  key: string;
  url: string;
  kind: MediaKind;
}

/** The media outputs of the completed steps, in step order. */
export function stepMediaOf(steps: { label: string }[], outputs: (Record<string, unknown> | undefined)[]): StepMedia[] {
  return steps.flatMap((step, index) => mediaOf(outputs[index]).map((media) => ({ step: index, stepLabel: step.label, ...media })));
}

/** The image an image output was made from: the latest image of an earlier step (an edit's "before"). */
export function imageBefore(all: StepMedia[], media: StepMedia): StepMedia | undefined {
  if (media.kind !== "image") return undefined;
  return all.filter((other) => other.kind === "image" && other.step < media.step).at(-1);
}

/**
 * Width / height of a run's media: outputs keep the input image's proportions (the local and the
 * Replicate models alike), so the upload's size gives every placeholder its shape before anything loads.
 */
export function aspectOf(file: { width: number; height: number } | null | undefined): number {
  return file && file.width > 0 && file.height > 0 ? file.width / file.height : 4 / 3;
}

/**
 * Width / height of a run's result before it loads: the aspect ratio the run asked for (an
 * `aspect_ratio` input such as "16:9"), else its image's proportions, else 4:3. A run without an
 * upload (Text to Video) has only the former.
 */
export function runAspect(job: { input_file: { width: number; height: number } | null; inputs: Record<string, string> }): number {
  const asked = /^(\d{1,3}):(\d{1,3})$/.exec(job.inputs.aspect_ratio ?? "");
  if (asked && Number(asked[1]) > 0 && Number(asked[2]) > 0) return Number(asked[1]) / Number(asked[2]);
  return aspectOf(job.input_file);
}

/** The result's media to show in a list: the first one, video or image. */
export function resultMedia(result: Record<string, unknown> | null | undefined): { url: string; kind: MediaKind } | null {
  return mediaOf(result)[0] ?? null;
}

/** A file name for a download: montage-<job>-<step>.<ext>. */
export function downloadName(jobId: string, media: StepMedia): string {
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(media.url)?.[1] ?? (media.kind === "video" ? "mp4" : "png");
  return `montage-${jobId.slice(0, 8)}-${media.step + 1}.${extension}`;
}
