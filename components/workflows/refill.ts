/**
 * Run again's images: where the server keeps each image a run was sent (the job's upload at
 * GET /jobs/<id>/input, each extra image input's at GET /jobs/<id>/input/<field>), the name to give
 * the file it puts back into the form, and what the form says when one cannot be put back.
 */

/** Where the image a job was sent for an image input is: its upload without `field`, an extra image with it. */
export function jobImageUrl(jobId: string, field?: string): string {
  return field === undefined ? `/jobs/${jobId}/input` : `/jobs/${jobId}/input/${encodeURIComponent(field)}`;
}

/** The file name a response names in its Content-Disposition (`inline; filename="style.png"`), else `fallback`. */
export function fileNameOf(disposition: string | null, fallback: string): string {
  const name = disposition && /filename="([^"]*)"/.exec(disposition)?.[1];
  return name ? name : fallback;
}

/** "the style reference", "the style reference and the mask", "the a, the b and the c". */
function listOf(labels: string[]): string {
  const named = labels.map((label) => `the ${label.toLowerCase()}`);
  return named.length <= 1 ? (named[0] ?? "") : `${named.slice(0, -1).join(", ")} and ${named.at(-1)}`;
}

/** What the form says of extra images Run again could not put back (none: null). */
export function extraImagesRefillProblem(failedLabels: string[]): string | null {
  if (failedLabels.length === 0) return null;
  const list = listOf(failedLabels);
  return `${list.charAt(0).toUpperCase()}${list.slice(1)} of that run could not be loaded. Add ${failedLabels.length === 1 ? "it" : "them"} again to run.`;
}

/** The note over the form after Run again, saying what it put back. */
export function runAgainNote(images: number): string {
  const what = images === 0 ? "inputs" : images === 1 ? "image and inputs" : "images and inputs";
  return `The form has that run's ${what} again: change what you like, then press Execute.`;
}
