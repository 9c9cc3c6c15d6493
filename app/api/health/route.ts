import { db } from "@/lib/db/client";
import { workflowDriver } from "@/lib/engine/driver";
import { workflowRegistry } from "@/lib/workflows/registry";

export const dynamic = "force-dynamic";

/** Liveness and what this process runs with; used by start scripts and tests to wait for readiness. */
export async function GET() {
  await db().$queryRawUnsafe("SELECT 1");
  const registry = workflowRegistry();
  return Response.json({
    success: true,
    driver: workflowDriver().name,
    workflows: registry.workflows.size,
    workflow_problems: registry.problems,
  });
}
