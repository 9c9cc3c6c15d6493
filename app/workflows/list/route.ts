import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";
import { listWorkflows } from "@/lib/workflows/public";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async () => {
  const rt = runtime();
  return Response.json({ success: true, workflows: listWorkflows(rt.registry, rt.config) });
});
