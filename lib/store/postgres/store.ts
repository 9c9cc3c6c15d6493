import "server-only";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { PlannedStore } from "@/lib/store/planned-store";
import type { AppliedPlan, WritePlan } from "@/lib/store/plans";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import { requeuePlan } from "@/lib/store/plans";
import { PostgresConnection, postgresTime, type Query } from "@/lib/store/postgres/connection";
import { applyPostgresPlan, applyPostgresPlans } from "@/lib/store/postgres/plans";
import { checkBudget, listCharges, readSpending, readUserBudget, remainingEstimate, setUserBudget } from "@/lib/store/postgres/spending";
import { PostgresEventWatchers } from "@/lib/store/postgres/watchers";
import { checkpointFromRow, EXECUTION_SELECT, executionFromRow, JOB_SELECT, jobFromRow, jobStateFromRow, queuedJobFromRow, rerunFromRow, runFromRow, toJson } from "@/lib/store/rows";
import type { BudgetGuard, Charge, CheckpointRow, Fence, JobRecord, JobState, JobSummary, LeasedRun, NewJob, QueuedJob, RerunSummary, Spending, Store, StoredEvent, UploadFile } from "@/lib/store/types";

type Row = Record<string, unknown>;

/** A job's checkpoint rows as one JSON array, inside the statement that reads the job. */
const CHECKPOINTS_OF_JOB = "(SELECT coalesce(json_agg(c ORDER BY c.step_index, c.candidate), '[]') FROM checkpoints c WHERE c.job_id = j.id) AS checkpoints";

const checkpointsFromJson = (value: unknown): CheckpointRow[] => (toJson<Row[]>(value) ?? []).map(checkpointFromRow);

/**
 * The store on PostgreSQL (production): named prepared statements on the process's pool, each
 * write one statement (lib/store/postgres/plans.ts), each read one round trip.
 */
export class PostgresStore extends PlannedStore implements Store {
  readonly dialect = "postgresql" as const;
  readonly watchers: PostgresEventWatchers;
  private readonly connection: PostgresConnection;

  constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
  ) {
    super();
    this.connection = new PostgresConnection(pool);
    this.watchers = new PostgresEventWatchers(this.connection, connectionString);
  }

  protected applyPlans(plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]> {
    return applyPostgresPlans(this.connection, plans, now);
  }

  async insertJob(job: NewJob): Promise<string> {
    const id = randomUUID();
    const upload = job.upload;
    const rerun = job.rerun;
    // The copied events come before the first one, in order (ids follow the array's order).
    const events = [...(rerun?.copiedEvents ?? []), job.firstEvent].map((event) => ({ type: event.type, data: event.data }));
    const checkpoints = (rerun?.checkpoints ?? []).map((copy) => ({
      step_index: copy.stepIndex,
      candidate: copy.candidate,
      output: copy.output,
      started_at: copy.startedAt && postgresTime(copy.startedAt),
      completed_at: copy.completedAt && postgresTime(copy.completedAt),
    }));
    const values: unknown[] = [
      id,
      job.userId,
      job.workflow.id,
      job.workflow.version,
      JSON.stringify(job.inputs),
      postgresTime(new Date()),
      randomUUID(),
      job.maxAttempts,
      JSON.stringify(events),
      JSON.stringify(job.workflow.config),
      rerun?.parentJobId ?? null,
      rerun?.fromStep ?? null,
      rerun?.progress ?? 0,
      JSON.stringify(checkpoints),
      randomUUID(),
      job.approvalSteps && job.approvalSteps.length > 0 ? JSON.stringify(job.approvalSteps) : null,
      job.estimate?.micros ?? 0,
      JSON.stringify(job.estimate?.steps ?? []),
    ];
    if (upload) values.push(upload.filename, upload.contentType, upload.data.length, upload.width, upload.height, upload.data);
    // Data-modifying CTEs of one statement: one round trip, one commit, all rows or none. A rerun
    // copies its parent's upload row and takes the parent's completed checkpoints as its own.
    const insert = (query: Query) =>
      query(
      `WITH v AS (
         INSERT INTO workflow_versions (workflow_id, version, config, created_at) VALUES ($3, $4, $10::jsonb, $6::timestamp(3)) ON CONFLICT DO NOTHING
       ), j AS (
         INSERT INTO jobs (id, user_id, workflow_id, workflow_version, status, progress, inputs, parent_job_id, rerun_from_step, approval_steps, estimated_micro_usd, cost_estimate, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'queued', $13::int, $5::jsonb, $11::text, $12::int, $16::jsonb, $17::int, $18::jsonb, $6::timestamp(3), $6::timestamp(3)) RETURNING id
       ), e AS (
         INSERT INTO workflow_executions (id, job_id, workflow_id, current_step, max_attempts, created_at, updated_at)
         SELECT $7, j.id, $3, coalesce($12::int, 0), $8::int, $6::timestamp(3), $6::timestamp(3) FROM j
       ), ev AS (
         INSERT INTO job_events (job_id, type, data, created_at)
         SELECT j.id, x.event->>'type', x.event->'data', $6::timestamp(3) FROM j, jsonb_array_elements($9::jsonb) WITH ORDINALITY AS x(event, n) ORDER BY x.n
       ), c AS (
         INSERT INTO checkpoints (job_id, step_index, candidate, status, output, attempt, started_at, completed_at, updated_at)
         SELECT j.id, x.step_index, x.candidate, 'completed', x.output, 0, x.started_at, x.completed_at, $6::timestamp(3)
         FROM j, jsonb_to_recordset($14::jsonb) AS x(step_index int, candidate int, output jsonb, started_at timestamp(3), completed_at timestamp(3))
       ), u AS (
         INSERT INTO uploads (id, job_id, user_id, filename, content_type, size, width, height, data, created_at)
         ${
           upload
             ? "SELECT $15, j.id, $2, $19, $20, $21::int, $22::int, $23::int, $24::bytea, $6::timestamp(3) FROM j"
             : "SELECT $15, j.id, p.user_id, p.filename, p.content_type, p.size, p.width, p.height, p.data, $6::timestamp(3) FROM j, uploads p WHERE p.job_id = $11::text"
         }
       )
       SELECT id FROM j`,
      values,
    );
    const budget = job.budget;
    if (!budget) await insert(this.connection.query.bind(this.connection));
    // Within a budget: the check (under the user's lock) and the insert commit together.
    else await this.connection.transaction(async (query) => {
      await checkBudget(query, job.userId, budget, job.estimate?.micros ?? 0);
      await insert(query);
    });
    return id;
  }

  async listReruns(parentJobId: string): Promise<RerunSummary[]> {
    const { rows } = await this.connection.query("SELECT id, status, rerun_from_step, created_at FROM jobs WHERE parent_job_id = $1 ORDER BY created_at, id", [parentJobId]);
    return rows.map(rerunFromRow);
  }

  override async requeueJob(jobId: string, change: { from: JobStatus; event: JobEventInput; budget?: BudgetGuard }): Promise<boolean> {
    const budget = change.budget;
    if (!budget) return super.requeueJob(jobId, change);
    return this.connection.transaction(async (query) => {
      const remaining = await remainingEstimate(query, jobId);
      if (!remaining) return false;
      await checkBudget(query, remaining.userId, budget, remaining.micros, jobId);
      return (await applyPostgresPlan(query, requeuePlan(jobId, change), new Date())) !== undefined;
    });
  }

  readSpending(userId: string, since: Date): Promise<Spending> {
    return readSpending(this.connection.query.bind(this.connection), userId, since);
  }

  listCharges(userId: string, range: { from: Date; to: Date; limit: number }): Promise<Charge[]> {
    return listCharges(this.connection, userId, range);
  }

  readUserBudget(userId: string): Promise<number | null> {
    return readUserBudget(this.connection, userId);
  }

  setUserBudget(userId: string, limitMicros: number | null): Promise<void> {
    return setUserBudget(this.connection, userId, limitMicros);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const { rows } = await this.connection.query(
      `SELECT ${JOB_SELECT}, ${EXECUTION_SELECT}, ${CHECKPOINTS_OF_JOB}
       FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id WHERE j.id = $1`,
      [jobId],
    );
    const row = rows[0];
    return row && { ...jobFromRow(row), execution: executionFromRow(row), checkpoints: checkpointsFromJson(row.checkpoints) };
  }

  async listJobs(userId: string, options: { limit: number; cursor?: string; status?: string }): Promise<{ jobs: JobSummary[]; nextCursor: string | null }> {
    // Keyset pagination on (created_at, id), both descending: the page after the cursor's job.
    const { rows } = await this.connection.query(
      `SELECT ${JOB_SELECT} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id
       WHERE j.user_id = $1 AND ($2::text IS NULL OR j.status = $2)
         AND ($3::text IS NULL OR (j.created_at, j.id) < (SELECT created_at, id FROM jobs WHERE id = $3 AND user_id = $1))
       ORDER BY j.created_at DESC, j.id DESC LIMIT $4`,
      [userId, options.status ?? null, options.cursor ?? null, options.limit + 1],
    );
    const jobs = rows.slice(0, options.limit).map(jobFromRow);
    return { jobs, nextCursor: rows.length > options.limit ? jobs.at(-1)!.id : null };
  }

  async readUpload(jobId: string): Promise<UploadFile | undefined> {
    const { rows } = await this.connection.query<{ filename: string; content_type: string; data: Buffer }>("SELECT filename, content_type, data FROM uploads WHERE job_id = $1", [jobId]);
    const row = rows[0];
    return row && { filename: row.filename, contentType: row.content_type, data: row.data };
  }

  async readWorkflowVersion(workflowId: string, version: string): Promise<unknown> {
    const { rows } = await this.connection.query("SELECT config FROM workflow_versions WHERE workflow_id = $1 AND version = $2", [workflowId, version]);
    return rows[0] ? toJson(rows[0].config) : undefined;
  }

  async leaseRun(jobId: string, owner: string, options: { ttlMs: number | null; takeOverFrom?: (owner: string) => boolean }): Promise<LeasedRun | undefined> {
    const now = new Date();
    const expires = options.ttlMs === null ? null : postgresTime(new Date(now.getTime() + options.ttlMs));
    // The common case in one round trip: take a lease that is free, expired or ours, and read the job under it.
    const taken = await this.takeLease(jobId, owner, expires, now, "(e.lease_owner IS NULL OR e.lease_expires_at < $3::timestamp(3) OR e.lease_owner = $1)", []);
    if (taken || !options.takeOverFrom) return taken;
    // Held by someone else: take it over only from an owner known to be dead, by compare-and-set on that owner's take.
    const { rows } = await this.connection.query<{ lease_owner: string | null; lease_epoch: number }>("SELECT lease_owner, lease_epoch FROM workflow_executions WHERE job_id = $1", [jobId]);
    const holder = rows[0];
    if (!holder?.lease_owner || !options.takeOverFrom(holder.lease_owner)) return undefined;
    return this.takeLease(jobId, owner, expires, now, "e.lease_owner = $5 AND e.lease_epoch = $6::int", [holder.lease_owner, holder.lease_epoch]);
  }

  private async takeLease(jobId: string, owner: string, expires: string | null, now: Date, condition: string, extra: unknown[]): Promise<LeasedRun | undefined> {
    const { rows } = await this.connection.query(
      `WITH taken AS (
         UPDATE workflow_executions e SET lease_owner = $1, lease_expires_at = $2::timestamp(3), lease_epoch = e.lease_epoch + 1, updated_at = $3::timestamp(3)
         WHERE e.job_id = $4 AND ${condition} RETURNING e.job_id, e.lease_epoch, e.retry_count, e.max_attempts
       )
       SELECT j.id, j.user_id, j.workflow_id, j.workflow_version, j.status, j.inputs, j.attempts, j.approval_steps, j.approved_step, taken.retry_count, taken.max_attempts, taken.lease_epoch, ${CHECKPOINTS_OF_JOB}
       FROM taken JOIN jobs j ON j.id = taken.job_id`,
      [owner, expires, postgresTime(now), jobId, ...extra],
    );
    const row = rows[0];
    return row && { fence: { owner, epoch: Number(row.lease_epoch) }, job: runFromRow(row, checkpointsFromJson(row.checkpoints)) };
  }

  async renewLease(jobId: string, fence: Fence, ttlMs: number): Promise<{ held: boolean; status: string | undefined }> {
    const now = new Date();
    const { rows } = await this.connection.query<{ status: string; held: boolean }>(
      `WITH renewed AS (
         UPDATE workflow_executions SET lease_expires_at = $1::timestamp(3), updated_at = $2::timestamp(3) WHERE job_id = $3 AND lease_owner = $4 AND lease_epoch = $5::int RETURNING job_id
       )
       SELECT j.status, EXISTS (SELECT 1 FROM renewed) AS held FROM jobs j WHERE j.id = $3`,
      [postgresTime(new Date(now.getTime() + ttlMs)), postgresTime(now), jobId, fence.owner, fence.epoch],
    );
    return { held: rows[0]?.held === true, status: rows[0]?.status };
  }

  async releaseLease(jobId: string, fence: Fence): Promise<void> {
    await this.connection.query(
      "UPDATE workflow_executions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = $1::timestamp(3) WHERE job_id = $2 AND lease_owner = $3 AND lease_epoch = $4::int",
      [postgresTime(new Date()), jobId, fence.owner, fence.epoch],
    );
  }

  async findOrphans(now: Date, limit: number, localPrefix: string) {
    const { rows } = await this.connection.query<{ job_id: string; lease_owner: string | null; lease_expires_at: Date | null }>(
      `SELECT e.job_id, e.lease_owner, e.lease_expires_at FROM workflow_executions e JOIN jobs j ON j.id = e.job_id
       WHERE j.status IN ('running', 'queued') AND (e.lease_owner IS NULL OR e.lease_expires_at < $1::timestamp(3) OR starts_with(e.lease_owner, $2))
       ORDER BY e.created_at LIMIT $3`,
      [postgresTime(now), localPrefix, limit],
    );
    return rows.map((row) => ({ jobId: row.job_id, leaseOwner: row.lease_owner, leaseExpiresAt: row.lease_expires_at }));
  }

  async findExpiredApprovals(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.connection.query<{ id: string }>(
      "SELECT id FROM jobs WHERE status = 'awaiting_approval' AND awaiting_until <= $1::timestamp(3) ORDER BY awaiting_until LIMIT $2",
      [postgresTime(now), limit],
    );
    return rows.map((row) => row.id);
  }

  async findDueRetries(now: Date, limit: number) {
    const { rows } = await this.connection.query<{ id: string; provider: string | null }>(
      `SELECT j.id, e.last_error_provider AS provider FROM jobs j JOIN workflow_executions e ON e.job_id = j.id
       WHERE j.status = 'pending_retry' AND j.next_retry_at <= $1::timestamp(3) ORDER BY j.next_retry_at LIMIT $2`,
      [postgresTime(now), limit],
    );
    return rows.map((row) => ({ jobId: row.id, provider: row.provider }));
  }

  async findQueuedBetween(after: Date, before: Date, limit: number): Promise<QueuedJob[]> {
    const { rows } = await this.connection.query(
      "SELECT id, user_id, attempts FROM jobs WHERE status = 'queued' AND updated_at > $1::timestamp(3) AND updated_at < $2::timestamp(3) ORDER BY updated_at LIMIT $3",
      [postgresTime(after), postgresTime(before), limit],
    );
    return rows.map(queuedJobFromRow);
  }

  async countQueuedBefore(before: Date): Promise<number> {
    const { rows } = await this.connection.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'queued' AND updated_at <= $1::timestamp(3)", [postgresTime(before)]);
    return Number(rows[0]?.n ?? 0);
  }

  async readQueuedJob(jobId: string): Promise<QueuedJob | undefined> {
    const { rows } = await this.connection.query("SELECT id, user_id, attempts FROM jobs WHERE id = $1", [jobId]);
    return rows[0] && queuedJobFromRow(rows[0]);
  }

  async readJobState(jobId: string): Promise<JobState | undefined> {
    const { rows } = await this.connection.query("SELECT status, attempts, result, error, error_code, next_retry_at FROM jobs WHERE id = $1", [jobId]);
    return rows[0] && jobStateFromRow(rows[0]);
  }

  async readEvents(jobId: string, afterId: number, limit: number): Promise<StoredEvent[]> {
    // The stored JSON as text: streams send it as it is, without parsing and re-serializing.
    const { rows } = await this.connection.query<{ id: number; type: string; json: string }>(
      "SELECT id, type, data::text AS json FROM job_events WHERE job_id = $1 AND id > $2 ORDER BY id LIMIT $3",
      [jobId, afterId, limit],
    );
    return rows.map((row) => ({ id: Number(row.id), type: row.type, json: row.json }));
  }

  async latestEventId(): Promise<number> {
    const { rows } = await this.connection.query<{ id: number | null }>("SELECT max(id) AS id FROM job_events");
    return Number(rows[0]?.id ?? 0);
  }

  async eventsSince(afterId: number, limit: number): Promise<{ id: number; jobId: string }[]> {
    const { rows } = await this.connection.query<{ id: number; job_id: string }>("SELECT id, job_id FROM job_events WHERE id > $1 ORDER BY id LIMIT $2", [afterId, limit]);
    return rows.map((row) => ({ id: Number(row.id), jobId: row.job_id }));
  }

  async ping(): Promise<void> {
    await this.connection.query("SELECT 1");
  }

  async close(): Promise<void> {
    await this.watchers.closeAll();
    if (!this.pool.ended) await this.pool.end();
  }
}
