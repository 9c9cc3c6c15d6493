import "server-only";
import type { PostgresConnection } from "@/lib/store/postgres/connection";
import { durationFromRow, RECENT_JOBS_FACTOR, timelineEventFromRow, waitingJobFromRow } from "@/lib/store/queue-rows";
import type { StepDuration, TimelineEvent, WaitingJob } from "@/lib/store/queue-types";

/** The place in line, the ETA and the timeline's reads on PostgreSQL (see Store); rows are converted as on SQLite. */

export async function readWaitingJobs(connection: PostgresConnection, jobIds: readonly string[]): Promise<WaitingJob[]> {
  if (jobIds.length === 0) return [];
  const { rows } = await connection.query(
    `SELECT j.id, j.user_id, j.workflow_id, j.status, j.progress, e.current_step FROM jobs j JOIN workflow_executions e ON e.job_id = j.id WHERE j.id = ANY($1::text[])`,
    [jobIds],
  );
  return rows.map(waitingJobFromRow);
}

export async function readStepDurations(connection: PostgresConnection, workflowId: string, perStep: number): Promise<StepDuration[]> {
  const { rows } = await connection.query(
    `SELECT step_index, started_at, completed_at FROM (
       SELECT c.step_index, c.started_at, c.completed_at, row_number() OVER (PARTITION BY c.step_index ORDER BY c.completed_at DESC) AS n
       FROM (SELECT id FROM jobs WHERE workflow_id = $1 ORDER BY created_at DESC LIMIT $3) j JOIN checkpoints c ON c.job_id = j.id
       WHERE c.status = 'completed' AND c.attempt > 0 AND c.started_at IS NOT NULL AND c.completed_at IS NOT NULL
     ) recent WHERE n <= $2 ORDER BY step_index, completed_at DESC`,
    [workflowId, perStep, perStep * RECENT_JOBS_FACTOR],
  );
  return rows.map(durationFromRow);
}

export async function readTimelineEvents(connection: PostgresConnection, jobId: string, limit: number): Promise<TimelineEvent[]> {
  const { rows } = await connection.query(
    `SELECT id, type, data, created_at FROM job_events WHERE job_id = $1 AND (type <> 'progress' OR data->>'step_progress' = '0') ORDER BY id LIMIT $2`,
    [jobId, limit],
  );
  return rows.map(timelineEventFromRow);
}

export async function queuedPlace(connection: PostgresConnection, jobId: string): Promise<number | undefined> {
  const { rows } = await connection.query<{ ahead: number }>(
    `SELECT (SELECT count(*)::int FROM jobs o WHERE o.status = 'queued' AND (o.updated_at, o.id) < (j.updated_at, j.id)) AS ahead
     FROM jobs j WHERE j.id = $1 AND j.status = 'queued'`,
    [jobId],
  );
  return rows[0] ? Number(rows[0].ahead) + 1 : undefined;
}
