import { openApiDocument } from "@/lib/api/openapi";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export function GET() {
  return Response.json(openApiDocument(runtime().config.publicBaseUrl));
}
