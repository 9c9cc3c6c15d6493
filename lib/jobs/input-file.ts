import "server-only";
import { ApiError } from "@/lib/api/errors";
import { getOwnJob } from "@/lib/jobs/service";
import type { Store } from "@/lib/store/types";

/**
 * The image a job was started with, from the uploads table (every job keeps its upload), or with
 * `field` the image sent for that extra image input: what "Run again" puts back into the form.
 * Another user's job is as absent as a missing one; an extra image not sent is a 404 of its own.
 */
export async function readOwnJobInput(store: Store, userId: string, jobId: string, field?: string): Promise<Response> {
  await getOwnJob(store, userId, jobId);
  // The job's upload is stored as field "" (docs/decisions/2026-12-02-extra-image-inputs.md): a name never reads it.
  const upload = await store.readUpload(jobId, field);
  if (!upload) throw new ApiError("not_found", field === undefined ? "No such job." : "The job has no image for that input.");
  return new Response(new Uint8Array(upload.data), {
    headers: {
      "Content-Type": upload.contentType,
      "Content-Length": String(upload.data.length),
      // The filename is sanitised at upload (lib/api/multipart.ts); the quotes are escaped all the same.
      "Content-Disposition": `inline; filename="${upload.filename.replaceAll('"', "")}"`,
      "Cache-Control": "private, max-age=3600",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
