import "server-only";
/**
 * Montage's Inngest functions, served at /api/inngest. See docs/inngest.md.
 */
import type { MontageInngest } from "@/lib/inngest/client";
import type { InngestDeps } from "@/lib/inngest/deps";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { createWorkflowRetrySweep } from "@/lib/inngest/workflow-retry-sweep";

export function createFunctions(client: MontageInngest, deps: InngestDeps) {
  return [createWorkflowExecute(client, deps), createWorkflowRetrySweep(client, deps)];
}
