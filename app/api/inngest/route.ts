import type { NextRequest } from "next/server";
import { ApiError, errorResponse } from "@/lib/api/errors";
import { runtime, type InngestRuntime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/**
 * Inngest calls this endpoint to sync Montage's functions (PUT), introspect them (GET) and run steps
 * (POST). Served only when Montage runs on Inngest; otherwise there is nothing here (404).
 */
function forward(method: keyof InngestRuntime["serve"]) {
  return async (request: NextRequest, context: unknown): Promise<Response> => {
    const rt = runtime();
    if (!rt.inngest) return errorResponse(new ApiError("not_found", "Inngest is not configured on this server."), rt.logger);
    return (rt.inngest.serve[method] as (request: NextRequest, context: unknown) => Promise<Response>)(request, context);
  };
}

export const GET = forward("GET");
export const POST = forward("POST");
export const PUT = forward("PUT");
