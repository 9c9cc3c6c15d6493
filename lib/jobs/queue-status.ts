import "server-only";
import type { WorkflowDriver } from "@/lib/engine/driver";
import type { QueueEstimates } from "@/lib/engine/queue-estimates";
import type { EtaBasis } from "@/lib/engine/queue-eta";
import { stepCheckpoint } from "@/lib/store/checkpoints";
import type { JobRecord, Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

export interface QueueStatus {
  queue_position: number | null;
  eta_seconds: number | null;
  eta_basis: EtaBasis | null;
}

const NONE: QueueStatus = { queue_position: null, eta_seconds: null, eta_basis: null };

/**
 * A job's place in line and ETA, as the execution details show them. Queued: its place among the
 * jobs waiting for the same runner, from the in-process runner's own line (the users' turns), or,
 * where the driver keeps no line (Inngest, or a job this process does not hold), its place among
 * all queued jobs by the time they were queued: an approximation, since Inngest orders runs by its
 * own concurrency keys and priorities. Running: no place, and the ETA
 * of its remaining steps. Any other status: neither.
 */
export async function queueStatusOf(
  deps: { store: Store; driver: Pick<WorkflowDriver, "placeInLine">; estimates: QueueEstimates },
  job: JobRecord,
  workflow: Workflow | undefined,
): Promise<QueueStatus> {
  if (!workflow) return NONE;
  const step = Math.min(job.execution.currentStep, workflow.config.steps.length - 1);
  if (job.status === "queued") {
    const place = deps.driver.placeInLine?.(job.id) ?? (await deps.store.queuedPlace(job.id));
    if (place === undefined) return NONE;
    const eta = await deps.estimates.queued(workflow, step, place);
    return { queue_position: place, eta_seconds: eta.seconds, eta_basis: eta.basis };
  }
  if (job.status === "running") {
    const checkpoint = stepCheckpoint(job.checkpoints, step);
    const eta = await deps.estimates.running(workflow, step, checkpoint?.status === "running" ? checkpoint.startedAt : null);
    return { queue_position: null, eta_seconds: eta.seconds, eta_basis: eta.basis };
  }
  return NONE;
}
