import "server-only";
import { postgresTime, type PostgresConnection } from "@/lib/store/postgres/connection";
import { checkpointFromRow, EXECUTION_SELECT, executionFromRow, JOB_SELECT, jobFromRow, rerunFromRow, toJson } from "@/lib/store/rows";
import type { CheckpointRow, JobFilter, JobKey, JobRecord, JobSummary, RerunSummary, UploadFile } from "@/lib/store/types";

// The job reads on PostgreSQL (Store.getJob, listJobs, findJobIds, readUpload, readWorkflowVersion, listReruns): one round trip each.

type Row = Record<string, unknown>;

/** A job's checkpoint rows as one JSON array, inside the statement that reads the job. */
export const CHECKPOINTS_OF_JOB = "(SELECT coalesce(json_agg(c ORDER BY c.step_index, c.candidate), '[]') FROM checkpoints c WHERE c.job_id = j.id) AS checkpoints";

export const checkpointsFromJson = (value: unknown): CheckpointRow[] => (toJson<Row[]>(value) ?? []).map(checkpointFromRow);

export async function getJob(c: PostgresConnection, jobId: string): Promise<JobRecord | undefined> {
  const { rows } = await c.query(
    `SELECT ${JOB_SELECT}, ${EXECUTION_SELECT}, ${CHECKPOINTS_OF_JOB}
     FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id AND u.field = '' WHERE j.id = $1`,
    [jobId],
  );
  const row = rows[0];
  return row && { ...jobFromRow(row), execution: executionFromRow(row), checkpoints: checkpointsFromJson(row.checkpoints) };
}

export async function listJobs(c: PostgresConnection, userId: string, options: { limit: number; cursor?: string; status?: string }): Promise<{ jobs: JobSummary[]; nextCursor: string | null }> {
  // Keyset pagination on (created_at, id), both descending: the page after the cursor's job.
  const { rows } = await c.query(
    `SELECT ${JOB_SELECT} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id AND u.field = ''
     WHERE j.user_id = $1 AND ($2::text IS NULL OR j.status = $2)
       AND ($3::text IS NULL OR (j.created_at, j.id) < (SELECT created_at, id FROM jobs WHERE id = $3 AND user_id = $1))
     ORDER BY j.created_at DESC, j.id DESC LIMIT $4`,
    [userId, options.status ?? null, options.cursor ?? null, options.limit + 1],
  );
  const jobs = rows.slice(0, options.limit).map(jobFromRow);
  return { jobs, nextCursor: rows.length > options.limit ? jobs.at(-1)!.id : null };
}

export async function findJobIds(c: PostgresConnection, userId: string, filter: JobFilter, limit: number, after?: JobKey): Promise<JobKey[]> {
  const { rows } = await c.query<{ id: string; created_at: Date }>(
    `SELECT id, created_at FROM jobs
     WHERE user_id = $1 AND status = ANY($2::text[]) AND ($3::text IS NULL OR workflow_id = $3)
       AND ($4::timestamp(3) IS NULL OR created_at >= $4::timestamp(3)) AND ($5::timestamp(3) IS NULL OR created_at < $5::timestamp(3))
       AND ($6::text[] IS NULL OR id = ANY($6::text[]))
       AND ($7::timestamp(3) IS NULL OR (created_at, id) > ($7::timestamp(3), $8::text))
     ORDER BY created_at, id LIMIT $9`,
    [
      userId,
      filter.statuses,
      filter.workflowId ?? null,
      filter.createdAfter ? postgresTime(filter.createdAfter) : null,
      filter.createdBefore ? postgresTime(filter.createdBefore) : null,
      filter.jobIds ?? null,
      after ? postgresTime(after.createdAt) : null,
      after?.id ?? null,
      limit,
    ],
  );
  return rows.map((row) => ({ id: row.id, createdAt: row.created_at }));
}

export async function readUpload(c: PostgresConnection, jobId: string, field = ""): Promise<UploadFile | undefined> {
  const { rows } = await c.query<{ filename: string; content_type: string; data: Buffer }>("SELECT filename, content_type, data FROM uploads WHERE job_id = $1 AND field = $2", [jobId, field]);
  const row = rows[0];
  return row && { filename: row.filename, contentType: row.content_type, data: row.data };
}

export async function readWorkflowVersion(c: PostgresConnection, workflowId: string, version: string): Promise<unknown> {
  const { rows } = await c.query("SELECT config FROM workflow_versions WHERE workflow_id = $1 AND version = $2", [workflowId, version]);
  return rows[0] ? toJson(rows[0].config) : undefined;
}

export async function listReruns(c: PostgresConnection, parentJobId: string): Promise<RerunSummary[]> {
  const { rows } = await c.query("SELECT id, status, rerun_from_step, created_at FROM jobs WHERE parent_job_id = $1 ORDER BY created_at, id", [parentJobId]);
  return rows.map(rerunFromRow);
}
