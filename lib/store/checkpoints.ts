import "server-only";
import type { CandidateCheckpoint, Checkpoint, Checkpoints } from "@/lib/contract/events";
import type { CheckpointRow } from "@/lib/store/types";

/**
 * Checkpoint rows in the design note's layout, which the API and existing clients read:
 * {"0": {"status": "completed", "output": {...}}, "2": {"status": "failed_retryable", "error": "..."}}.
 * A step's entry is its candidate 0. A completed step shows no scratch state, as before.
 *
 * A step run as candidates keeps that entry for the one picked (so clients that do not know
 * candidates read the chosen output where they always did), plus `candidates: [...]` (each
 * candidate, numbered from 1) and `picked_candidate`. Before the pick the step's entry is
 * `running` with no output (also while the job awaits the pick), so a client reading `output` finds
 * none until there is one; `failed` when every candidate failed.
 */
export function checkpointLayout(rows: readonly CheckpointRow[]): Checkpoints {
  const layout: Checkpoints = {};
  const sorted = [...rows].sort((a, b) => a.stepIndex - b.stepIndex || a.candidate - b.candidate);
  for (const row of sorted) {
    if (row.candidate !== 0) continue;
    layout[String(row.stepIndex)] = checkpointEntry(row);
  }
  const byStep = new Map<number, CheckpointRow[]>();
  for (const row of sorted) if (row.candidate > 0) byStep.set(row.stepIndex, [...(byStep.get(row.stepIndex) ?? []), row]);
  for (const [stepIndex, candidates] of byStep) {
    const key = String(stepIndex);
    const own = layout[key];
    const entries = candidates.map(candidateEntry);
    const picked = own?.status === "completed" ? candidates.find((row) => row.status === "completed" && JSON.stringify(row.output) === JSON.stringify(own.output)) : undefined;
    layout[key] = {
      ...(own ?? { status: candidates.some((row) => row.status === "running") ? "running" : aggregateStatus(candidates) }),
      candidates: entries,
      ...(picked && { picked_candidate: picked.candidate }),
    };
  }
  return layout;
}

/** A candidate step's entry before its pick: failed when every candidate failed, else running (done ones wait for the pick). */
function aggregateStatus(candidates: CheckpointRow[]): Checkpoint["status"] {
  if (candidates.every((row) => row.status === "failed")) return "failed";
  if (candidates.some((row) => row.status === "failed_retryable")) return "failed_retryable";
  if (candidates.some((row) => row.status === "canceled")) return "canceled";
  return "running";
}

function candidateEntry(row: CheckpointRow): CandidateCheckpoint {
  const { state: _state, ...entry } = checkpointEntry(row);
  return { candidate: row.candidate, ...entry };
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
