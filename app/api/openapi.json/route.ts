import { openApiDocument } from "@/lib/api/openapi";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export function GET() {
  const rt = runtime();
  return Response.json(openApiDocument(rt.config.publicBaseUrl, rt.registry.workflows.values()));
}
