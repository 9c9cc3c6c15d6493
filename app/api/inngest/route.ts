import { NextRequest } from "next/server";
import { ApiError } from "@/lib/api/errors";
import { BODY_LIMITS, readBodyLimited } from "@/lib/api/body";
import { handleErrors } from "@/lib/server/http";
import { runtime, type InngestRuntime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/**
 * Inngest calls this endpoint to sync Montage's functions (PUT), introspect them (GET) and run steps
 * (POST). Served only when Montage runs on Inngest; otherwise there is nothing here: 404 in the
 * error shape, nothing read and nothing logged. The body is read within Inngest's documented size
 * (413 past it), and a POST that is not JSON is refused here, so the SDK never logs its bytes.
 */
function forward(method: keyof InngestRuntime["serve"]) {
  return handleErrors(async (request: Request, context: unknown): Promise<Response> => {
    const rt = runtime();
    if (!rt.inngest) throw new ApiError("not_found", "Inngest is not configured on this server.");
    let forwarded = request;
    if (method !== "GET") {
      const body = await readBodyLimited(request, BODY_LIMITS.inngest);
      if (method === "POST" && !isJson(body)) throw new ApiError("invalid_json", "Inngest sends JSON here.");
      forwarded = new NextRequest(request.url, { method: request.method, headers: request.headers, ...(body.byteLength > 0 && { body }) });
    }
    return (rt.inngest.serve[method] as (request: NextRequest, context: unknown) => Promise<Response>)(forwarded as NextRequest, context);
  });
}

function isJson(body: Uint8Array): boolean {
  try {
    JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    return true;
  } catch {
    return false;
  }
}

export const GET = forward("GET");
export const POST = forward("POST");
export const PUT = forward("PUT");
