import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";
import { listPricedWorkflows } from "@/lib/jobs/costs";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async () => {
  const rt = runtime();
  return Response.json({ success: true, workflows: listPricedWorkflows(rt) });
});
