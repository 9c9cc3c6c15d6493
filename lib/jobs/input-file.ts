import "server-only";
import { ApiError } from "@/lib/api/errors";
import { getOwnJob } from "@/lib/jobs/service";
import type { Store } from "@/lib/store/types";

/**
 * The image a job was started with, from the uploads table (every job keeps its upload): what "Run
 * again" puts back into the form. Another user's job is as absent as a missing one.
 */
export async function readOwnJobInput(store: Store, userId: string, jobId: string): Promise<Response> {
  await getOwnJob(store, userId, jobId);
  const upload = await store.readUpload(jobId);
  if (!upload) throw new ApiError("not_found", "No such job.");
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
