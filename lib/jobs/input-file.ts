import { ApiError } from "@/lib/api/errors";
import { db } from "@/lib/db/client";

/**
 * The image a job was started with, from the uploads table (every job keeps its upload): what "Run
 * again" puts back into the form. Another user's job is as absent as a missing one.
 */
export async function readOwnJobInput(userId: string, jobId: string): Promise<Response> {
  const upload = await db().upload.findFirst({
    where: { jobId, userId },
    select: { filename: true, contentType: true, size: true, data: true },
  });
  if (!upload) throw new ApiError("not_found", "No such job.");
  return new Response(new Uint8Array(upload.data), {
    headers: {
      "Content-Type": upload.contentType,
      "Content-Length": String(upload.size),
      // The filename is sanitised at upload (lib/api/multipart.ts); the quotes are escaped all the same.
      "Content-Disposition": `inline; filename="${upload.filename.replaceAll('"', "")}"`,
      "Cache-Control": "private, max-age=3600",
      "X-Content-Type-Options": "nosniff",
    },
  });
}
