import "server-only";
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { ApiError } from "@/lib/api/errors";
import { jobIdSchema } from "@/lib/api/schemas";
import { getOwnJob } from "@/lib/jobs/service";
import type { LocalStorage } from "@/lib/providers/local/storage";
import type { StorageProvider } from "@/lib/providers/types";
import type { Store } from "@/lib/store/types";

/**
 * Serves a local-storage file to the owner of the job it belongs to (keys are "jobs/<job id>/...").
 * Supports single byte ranges, which browsers use to play and seek video.
 */
export async function serveJobFile(deps: { store: Store; providers: { storage: StorageProvider } }, request: Request, userId: string, segments: string[]): Promise<Response> {
  // By shape, not `instanceof`: the runtime's providers may come from another bundle's copy of the
  // LocalStorage class (Next.js bundles routes and instrumentation apart).
  const storage = deps.providers.storage as Partial<Pick<LocalStorage, "locate">>;
  const [scope, jobId] = segments;
  if (typeof storage.locate !== "function" || scope !== "jobs" || !jobIdSchema.safeParse(jobId).success) {
    throw new ApiError("not_found", "No such file.");
  }
  await getOwnJob(deps.store, userId, jobId!);
  const file = await storage.locate(segments.join("/")).catch(() => null);
  if (!file) throw new ApiError("not_found", "No such file.");

  const headers: Record<string, string> = {
    "Content-Type": file.contentType,
    "Accept-Ranges": "bytes",
    "Cache-Control": "private, max-age=3600",
    "X-Content-Type-Options": "nosniff",
    "Content-Disposition": "inline",
  };
  const range = request.headers.get("range")?.match(/^bytes=(\d*)-(\d*)$/);
  if (range && (range[1] || range[2])) {
    const start = range[1] ? Number(range[1]) : Math.max(0, file.bytes - Number(range[2]));
    const end = range[1] && range[2] ? Math.min(Number(range[2]), file.bytes - 1) : file.bytes - 1;
    if (start > end || start >= file.bytes) {
      return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${file.bytes}` } });
    }
    const body = Readable.toWeb(createReadStream(file.filePath, { start, end })) as ReadableStream;
    return new Response(body, {
      status: 206,
      headers: { ...headers, "Content-Range": `bytes ${start}-${end}/${file.bytes}`, "Content-Length": String(end - start + 1) },
    });
  }
  const body = Readable.toWeb(createReadStream(file.filePath)) as ReadableStream;
  return new Response(body, { headers: { ...headers, "Content-Length": String(file.bytes) } });
}
