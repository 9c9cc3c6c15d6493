import "server-only";
import { durationFromRow, RECENT_JOBS_FACTOR, timelineEventFromRow, waitingJobFromRow } from "@/lib/store/queue-rows";
import type { SqliteConnection } from "@/lib/store/sqlite/connection";
import type { StepDuration, TimelineEvent, WaitingJob } from "@/lib/store/queue-types";

/** The place in line, the ETA and the timeline's reads on SQLite (see Store). */

export function readWaitingJobs(connection: SqliteConnection, jobIds: readonly string[]): WaitingJob[] {
  if (jobIds.length === 0) return [];
  return connection
    .all(
      `SELECT j.id, j.user_id, j.workflow_id, j.status, j.progress, e.current_step FROM jobs j JOIN workflow_executions e ON e.job_id = j.id
       WHERE j.id IN (SELECT value FROM json_each(?))`,
      JSON.stringify(jobIds),
    )
    .map(waitingJobFromRow);
}

/**
 * The window keeps the newest `perStep` rows of each step, among the workflow's newest
 * `perStep * RECENT_JOBS_FACTOR` jobs (jobs_workflow_id_created_at_idx): the read stays bounded however many runs the workflow has had.
 */
export function readStepDurations(connection: SqliteConnection, workflowId: string, perStep: number): StepDuration[] {
  return connection
    .all(
      `SELECT step_index, started_at, completed_at FROM (
         SELECT c.step_index, c.started_at, c.completed_at, row_number() OVER (PARTITION BY c.step_index ORDER BY c.completed_at DESC) AS n
         FROM (SELECT id FROM jobs WHERE workflow_id = ? ORDER BY created_at DESC LIMIT ?) j JOIN checkpoints c ON c.job_id = j.id
         WHERE c.status = 'completed' AND c.attempt > 0 AND c.started_at IS NOT NULL AND c.completed_at IS NOT NULL
       ) WHERE n <= ? ORDER BY step_index, completed_at DESC`,
      workflowId,
      perStep * RECENT_JOBS_FACTOR,
      perStep,
    )
    .map(durationFromRow);
}

export function readTimelineEvents(connection: SqliteConnection, jobId: string, limit: number): TimelineEvent[] {
  return connection
    .all(
      `SELECT id, type, data, created_at FROM job_events WHERE job_id = ? AND (type <> 'progress' OR json_extract(data, '$.step_progress') = 0) ORDER BY id LIMIT ?`,
      jobId,
      limit,
    )
    .map(timelineEventFromRow);
}


export function queuedPlace(connection: SqliteConnection, jobId: string): number | undefined {
  const row = connection.get<{ ahead: number }>(
    `SELECT (SELECT count(*) FROM jobs o WHERE o.status = 'queued' AND (o.updated_at < j.updated_at OR (o.updated_at = j.updated_at AND o.id < j.id))) AS ahead
     FROM jobs j WHERE j.id = ? AND j.status = 'queued'`,
    jobId,
  );
  return row ? Number(row.ahead) + 1 : undefined;
}
