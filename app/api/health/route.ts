import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/** Liveness and what this process runs with; used by start scripts and tests to wait for readiness. */
export async function GET() {
  const rt = runtime();
  await rt.store.ping();
  return Response.json({
    success: true,
    driver: rt.driver.name,
    workflows: rt.registry.workflows.size,
    workflow_problems: rt.registry.problems,
  });
}
