import "server-only";
import type { Checkpoint, Checkpoints } from "@/lib/contract/events";
import type { CheckpointRow } from "@/lib/store/types";

/**
 * Checkpoint rows in the design note's layout, which the API and existing clients read:
 * {"0": {"status": "completed", "output": {...}}, "2": {"status": "failed_retryable", "error": "..."}}.
 * A step's entry is its candidate 0. A completed step shows no scratch state, as before.
 */
export function checkpointLayout(rows: readonly CheckpointRow[]): Checkpoints {
  const layout: Checkpoints = {};
  for (const row of [...rows].sort((a, b) => a.stepIndex - b.stepIndex)) {
    if (row.candidate !== 0) continue;
    layout[String(row.stepIndex)] = checkpointEntry(row);
  }
  return layout;
}

function checkpointEntry(row: CheckpointRow): Checkpoint {
  return {
    status: row.status,
    ...(row.output && { output: row.output }),
    ...(row.error !== null && { error: row.error }),
    ...(row.errorClass && { error_class: row.errorClass }),
    ...(row.errorReason !== null && { error_reason: row.errorReason }),
    ...(row.state && row.status !== "completed" && { state: row.state }),
    ...(row.startedAt && { started_at: row.startedAt.toISOString() }),
    ...(row.completedAt && { completed_at: row.completedAt.toISOString() }),
  };
}

/** The step's own checkpoint row (candidate 0), if it has one. */
export function stepCheckpoint(rows: readonly CheckpointRow[], stepIndex: number): CheckpointRow | undefined {
  return rows.find((row) => row.stepIndex === stepIndex && row.candidate === 0);
}
