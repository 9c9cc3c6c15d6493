import "server-only";
import { toDate, toJson } from "@/lib/store/rows";
import type { StepDuration, TimelineEvent, WaitingJob } from "@/lib/store/queue-types";

/**
 * readStepDurations looks at this many of a workflow's newest jobs per run it keeps of a step (50
 * runs: 1,000 jobs), so its cost does not grow with the workflow's history; the last 50 runs of a
 * step are among them unless nearly all recent jobs stopped before it.
 */
export const RECENT_JOBS_FACTOR = 20;

/** Rows of the queue reads (lib/store/sqlite/queue.ts, lib/store/postgres/queue.ts), from either driver, as the store's types. */

export function waitingJobFromRow(row: Record<string, unknown>): WaitingJob {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    workflowId: String(row.workflow_id),
    status: String(row.status),
    currentStep: Number(row.current_step),
    progress: Number(row.progress),
  };
}

export function durationFromRow(row: Record<string, unknown>): StepDuration {
  return { stepIndex: Number(row.step_index), ms: Math.max(0, toDate(row.completed_at)!.getTime() - toDate(row.started_at)!.getTime()) };
}

export function timelineEventFromRow(row: Record<string, unknown>): TimelineEvent {
  return { id: Number(row.id), type: String(row.type), data: toJson<Record<string, unknown>>(row.data) ?? {}, at: toDate(row.created_at)! };
}
