import "server-only";
import { randomUUID } from "node:crypto";
import { PlannedStore } from "@/lib/store/planned-store";
import type { AppliedPlan, WritePlan } from "@/lib/store/plans";
import { candidatesJson, checkpointFromRow, EXECUTION_SELECT, executionFromRow, JOB_SELECT, jobFromRow, jobStateFromRow, queuedJobFromRow, rerunFromRow, RUN_SELECT, runFromRow, toDate, toJson } from "@/lib/store/rows";
import { SqliteConnection, sqliteTime } from "@/lib/store/sqlite/connection";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import { requeuePlan } from "@/lib/store/plans";
import { claimIdempotencyKey, completeIdempotencyKey, deleteExpiredIdempotencyKeys, releaseIdempotencyKey } from "@/lib/store/sqlite/idempotency";
import { applySqlitePlans } from "@/lib/store/sqlite/plans";
import { queuedPlace, readStepDurations, readTimelineEvents, readWaitingJobs } from "@/lib/store/sqlite/queue";
import { checkBudget, listCharges, readSpending, readUserBudget, remainingEstimate, setUserBudget } from "@/lib/store/sqlite/spending";
import { findPasswordUser, findTokenUser, readUser } from "@/lib/store/sqlite/users";
import * as accounts from "@/lib/store/sqlite/accounts";
import { insertWebhookMessages, SqliteWebhooks } from "@/lib/store/sqlite/webhooks";
import type {
  BudgetGuard,
  Charge,
  Fence,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotentResponse,
  JobFilter,
  JobKey,
  JobRecord,
  JobState,
  JobSummary,
  LeasedRun,
  NewJob,
  QueuedJob,
  RerunSummary,
  NewApiToken,
  NewOAuthUser,
  NewPasswordUser,
  Spending,
  Store,
  StoredEvent,
  UploadFile,
  WebhookAttemptRecord,
  WebhookOutcome,
} from "@/lib/store/types";

/** The store on SQLite (the embedded default): prepared statements on its own better-sqlite3 connection. */
export class SqliteStore extends PlannedStore implements Store {
  readonly dialect = "sqlite" as const;
  private readonly connection: SqliteConnection;
  private readonly webhooks: SqliteWebhooks;

  constructor(filePath: string) {
    super();
    this.connection = new SqliteConnection(filePath);
    this.webhooks = new SqliteWebhooks(this.connection);
  }

  webhookSecret = (userId: string, make: () => string) => this.webhooks.webhookSecret(userId, make);
  rotateWebhookSecret = (userId: string, secret: string) => this.webhooks.rotateWebhookSecret(userId, secret);
  findDueWebhookMessages = (now: Date, limit: number) => this.webhooks.findDueWebhookMessages(now, limit);
  claimWebhookMessage = (id: string, now: Date, until: Date) => this.webhooks.claimWebhookMessage(id, now, until);
  readWebhookMessage = (id: string) => this.webhooks.readWebhookMessage(id);
  recordWebhookAttempt = (id: string, attempt: WebhookAttemptRecord, outcome: WebhookOutcome) => this.webhooks.recordWebhookAttempt(id, attempt, outcome);
  nextWebhookAttemptAt = () => this.webhooks.nextWebhookAttemptAt();
  readJobWebhooks = (jobId: string) => this.webhooks.readJobWebhooks(jobId);
  findTokenUser = async (tokenHash: string, now: Date, touchAfterMs: number) => findTokenUser(this.connection, tokenHash, now, touchAfterMs);
  readUser = async (userId: string) => readUser(this.connection, userId);
  findPasswordUser = async (email: string) => findPasswordUser(this.connection, email);
  insertPasswordUser = async (user: NewPasswordUser) => accounts.insertPasswordUser(this.connection, user, new Date());
  replacePasswordHash = async (userId: string, oldHash: string, newHash: string) => accounts.replacePasswordHash(this.connection, userId, oldHash, newHash);
  ensureUser = async (email: string) => accounts.ensureUser(this.connection, email, new Date());
  findOAuthUserId = async (provider: string, providerAccountId: string) => accounts.findOAuthUserId(this.connection, provider, providerAccountId);
  insertOAuthUser = async (user: NewOAuthUser) => accounts.insertOAuthUser(this.connection, user, new Date());
  insertApiToken = async (token: NewApiToken) => accounts.insertApiToken(this.connection, token, new Date());
  listApiTokens = async (userId: string) => accounts.listApiTokens(this.connection, userId);
  revokeApiToken = async (userId: string, tokenId: string, now: Date) => accounts.revokeApiToken(this.connection, userId, tokenId, now);
  claimWebhookDelivery = async (id: string, source: string, now: Date) => accounts.claimWebhookDelivery(this.connection, id, source, now);
  forgetWebhookDelivery = async (id: string) => accounts.forgetWebhookDelivery(this.connection, id);
  deleteWebhookDeliveries = async (source: string, before: Date) => accounts.deleteWebhookDeliveries(this.connection, source, before);

  readWaitingJobs = async (jobIds: readonly string[]) => readWaitingJobs(this.connection, jobIds);
  readStepDurations = async (workflowId: string, perStep: number) => readStepDurations(this.connection, workflowId, perStep);
  readTimelineEvents = async (jobId: string, limit: number) => readTimelineEvents(this.connection, jobId, limit);
  queuedPlace = async (jobId: string) => queuedPlace(this.connection, jobId);

  protected async applyPlans(plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]> {
    return applySqlitePlans(this.connection, plans, now);
  }

  async insertJob(job: NewJob): Promise<string> {
    const id = randomUUID();
    this.connection.write(() => {
      // Within a budget: checked in the same write transaction as the insert.
      if (job.budget) checkBudget(this.connection, job.userId, job.budget, job.estimate?.micros ?? 0);
      this.insertJobRows(id, job, sqliteTime(new Date()));
    });
    return id;
  }

  async insertIdempotentJob(job: NewJob & { id: string }, claim: IdempotencyClaim): Promise<{ jobId: string } | { existing: IdempotencyRecord }> {
    return this.connection.write(() => {
      const existing = claimIdempotencyKey(this.connection, claim);
      if (existing) return { existing };
      // A refusal by the budget throws: the key's claim is rolled back with the rest.
      if (job.budget) checkBudget(this.connection, job.userId, job.budget, job.estimate?.micros ?? 0);
      this.insertJobRows(job.id, job, sqliteTime(claim.now));
      return { jobId: job.id };
    });
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    return this.connection.write(() => claimIdempotencyKey(this.connection, claim));
  }

  completeIdempotencyKey = (userId: string, key: string, response: IdempotentResponse) => completeIdempotencyKey(this.connection, userId, key, response);
  releaseIdempotencyKey = (userId: string, key: string) => releaseIdempotencyKey(this.connection, userId, key);
  deleteExpiredIdempotencyKeys = (now: Date, limit: number) => deleteExpiredIdempotencyKeys(this.connection, now, limit);

  /**
   * Inside a write transaction: the job, its execution, its workflow's version, its uploads and its
   * first event; for a rerun also a copy of the parent's uploads and its copied checkpoints and
   * events; with a webhook, the job's webhook and a message for each wanted event.
   */
  private insertJobRows(id: string, job: NewJob, at: string): void {
    const c = this.connection;
    c.run("INSERT INTO workflow_versions (workflow_id, version, config, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", job.workflow.id, job.workflow.version, JSON.stringify(job.workflow.config), at);
    const rerun = job.rerun;
    c.run(
      "INSERT INTO jobs (id, user_id, workflow_id, workflow_version, status, progress, inputs, parent_job_id, rerun_from_step, approval_steps, estimated_micro_usd, cost_estimate, candidates, models, deadline_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      id,
      job.userId,
      job.workflow.id,
      job.workflow.version,
      rerun?.progress ?? 0,
      JSON.stringify(job.inputs),
      rerun?.parentJobId ?? null,
      rerun?.fromStep ?? null,
      job.approvalSteps && job.approvalSteps.length > 0 ? JSON.stringify(job.approvalSteps) : null,
      job.estimate?.micros ?? 0,
      JSON.stringify(job.estimate?.steps ?? []),
      job.candidates ? JSON.stringify(candidatesJson(job.candidates)) : null,
      job.models && Object.keys(job.models).length > 0 ? JSON.stringify(job.models) : null,
      job.deadlineAt ? sqliteTime(job.deadlineAt) : null,
      at,
      at,
    );
    c.run(
      "INSERT INTO workflow_executions (id, job_id, workflow_id, current_step, max_attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
      randomUUID(),
      id,
      job.workflow.id,
      rerun?.fromStep ?? 0,
      job.maxAttempts,
      at,
      at,
    );
    if (rerun) {
      // Every field the parent was sent: its upload and its extra images.
      for (const { field } of c.all<{ field: string }>("SELECT field FROM uploads WHERE job_id = ? ORDER BY field", rerun.parentJobId)) {
        c.run(
          `INSERT INTO uploads (id, job_id, field, user_id, filename, content_type, size, width, height, data, created_at)
           SELECT ?, ?, field, user_id, filename, content_type, size, width, height, data, ? FROM uploads WHERE job_id = ? AND field = ?`,
          randomUUID(),
          id,
          at,
          rerun.parentJobId,
          field,
        );
      }
      for (const copy of rerun.checkpoints) {
        c.run(
          "INSERT INTO checkpoints (job_id, step_index, candidate, status, output, attempt, started_at, completed_at, updated_at) VALUES (?, ?, ?, 'completed', ?, 0, ?, ?, ?)",
          id,
          copy.stepIndex,
          copy.candidate,
          JSON.stringify(copy.output),
          copy.startedAt && sqliteTime(copy.startedAt),
          copy.completedAt && sqliteTime(copy.completedAt),
          at,
        );
      }
      for (const event of rerun.copiedEvents) c.run("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)", id, event.type, JSON.stringify(event.data), at);
    }
    for (const u of [...(job.upload ? [{ ...job.upload, field: "" }] : []), ...(job.extraUploads ?? [])]) {
      c.run(
        "INSERT INTO uploads (id, job_id, field, user_id, filename, content_type, size, width, height, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        randomUUID(),
        id,
        u.field,
        job.userId,
        u.filename,
        u.contentType,
        u.data.length,
        u.width,
        u.height,
        u.data,
        at,
      );
    }
    c.run("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)", id, job.firstEvent.type, JSON.stringify(job.firstEvent.data), at);
    if (job.webhook) {
      c.run("INSERT INTO job_webhooks (job_id, user_id, url, events, created_at) VALUES (?, ?, ?, ?, ?)", id, job.userId, job.webhook.url, JSON.stringify(job.webhook.events), at);
      insertWebhookMessages(c, id, (job.rerun?.copiedEvents.length ?? 0) + 1);
    }
  }

  override async requeueJob(jobId: string, change: { from: JobStatus; event: JobEventInput; budget?: BudgetGuard; deadlineAt?: Date }): Promise<boolean> {
    const budget = change.budget;
    if (!budget) return super.requeueJob(jobId, change);
    const c = this.connection;
    return c.write(() => {
      const remaining = remainingEstimate(c, jobId);
      if (!remaining) return false;
      checkBudget(c, remaining.userId, budget, remaining.micros, jobId);
      return applySqlitePlans(c, [requeuePlan(jobId, change)], new Date())[0] !== undefined;
    });
  }

  async readSpending(userId: string, since: Date): Promise<Spending> {
    return readSpending(this.connection, userId, since);
  }

  async listCharges(userId: string, range: { from: Date; to: Date; limit: number }): Promise<Charge[]> {
    return listCharges(this.connection, userId, range);
  }

  async readUserBudget(userId: string): Promise<number | null> {
    return readUserBudget(this.connection, userId);
  }

  async setUserBudget(userId: string, limitMicros: number | null): Promise<void> {
    setUserBudget(this.connection, userId, limitMicros);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const row = this.connection.get(
      `SELECT ${JOB_SELECT}, ${EXECUTION_SELECT} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id AND u.field = '' WHERE j.id = ?`,
      jobId,
    );
    if (!row) return undefined;
    return { ...jobFromRow(row), execution: executionFromRow(row), checkpoints: this.checkpoints(jobId) };
  }

  private checkpoints(jobId: string) {
    return this.connection.all("SELECT * FROM checkpoints WHERE job_id = ? ORDER BY step_index, candidate", jobId).map(checkpointFromRow);
  }

  async listJobs(userId: string, options: { limit: number; cursor?: string; status?: string }): Promise<{ jobs: JobSummary[]; nextCursor: string | null }> {
    const conditions = ["j.user_id = ?"];
    const params: unknown[] = [userId];
    if (options.status) {
      conditions.push("j.status = ?");
      params.push(options.status);
    }
    if (options.cursor) {
      // Keyset pagination on (created_at, id), both descending: the page after the cursor's job.
      conditions.push("(j.created_at, j.id) < (SELECT created_at, id FROM jobs WHERE id = ? AND user_id = ?)");
      params.push(options.cursor, userId);
    }
    const rows = this.connection.all(
      `SELECT ${JOB_SELECT} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id LEFT JOIN uploads u ON u.job_id = j.id AND u.field = '' WHERE ${conditions.join(" AND ")} ORDER BY j.created_at DESC, j.id DESC LIMIT ?`,
      ...params,
      options.limit + 1,
    );
    const jobs = rows.slice(0, options.limit).map(jobFromRow);
    return { jobs, nextCursor: rows.length > options.limit ? jobs.at(-1)!.id : null };
  }

  async findJobIds(userId: string, filter: JobFilter, limit: number, after?: JobKey): Promise<JobKey[]> {
    const conditions = ["user_id = ?", `status IN (${filter.statuses.map(() => "?").join(", ") || "NULL"})`];
    const params: unknown[] = [userId, ...filter.statuses];
    const where = (condition: string, ...values: unknown[]) => {
      conditions.push(condition);
      params.push(...values);
    };
    if (filter.workflowId !== undefined) where("workflow_id = ?", filter.workflowId);
    if (filter.createdAfter) where("created_at >= ?", sqliteTime(filter.createdAfter));
    if (filter.createdBefore) where("created_at < ?", sqliteTime(filter.createdBefore));
    if (filter.jobIds) where(`id IN (${filter.jobIds.map(() => "?").join(", ") || "NULL"})`, ...filter.jobIds);
    if (after) where("(created_at, id) > (?, ?)", sqliteTime(after.createdAt), after.id);
    return this.connection
      .all<{ id: string; created_at: string }>(`SELECT id, created_at FROM jobs WHERE ${conditions.join(" AND ")} ORDER BY created_at, id LIMIT ?`, ...params, limit)
      .map((row) => ({ id: row.id, createdAt: toDate(row.created_at)! }));
  }

  async readUpload(jobId: string, field = ""): Promise<UploadFile | undefined> {
    const row = this.connection.get<{ filename: string; content_type: string; data: Buffer }>("SELECT filename, content_type, data FROM uploads WHERE job_id = ? AND field = ?", jobId, field);
    return row && { filename: row.filename, contentType: row.content_type, data: row.data };
  }

  async listReruns(parentJobId: string): Promise<RerunSummary[]> {
    return this.connection.all("SELECT id, status, rerun_from_step, created_at FROM jobs WHERE parent_job_id = ? ORDER BY created_at, id", parentJobId).map(rerunFromRow);
  }

  async readWorkflowVersion(workflowId: string, version: string): Promise<unknown> {
    const row = this.connection.get<{ config: string }>("SELECT config FROM workflow_versions WHERE workflow_id = ? AND version = ?", workflowId, version);
    return row ? toJson(row.config) : undefined;
  }

  async leaseRun(jobId: string, owner: string, options: { ttlMs: number | null; takeOverFrom?: (owner: string) => boolean }): Promise<LeasedRun | undefined> {
    const now = new Date();
    const c = this.connection;
    return c.write(() => {
      const lease = c.get<{ lease_owner: string | null; lease_expires_at: string | null; lease_epoch: number }>(
        "SELECT lease_owner, lease_expires_at, lease_epoch FROM workflow_executions WHERE job_id = ?",
        jobId,
      );
      if (!lease) return undefined;
      const holder = lease.lease_owner;
      const expiresAt = toDate(lease.lease_expires_at);
      const free = holder === null || holder === owner || (expiresAt !== null && expiresAt < now) || (options.takeOverFrom?.(holder) ?? false);
      if (!free) return undefined;
      const expires = options.ttlMs === null ? null : sqliteTime(new Date(now.getTime() + options.ttlMs));
      c.run(
        "UPDATE workflow_executions SET lease_owner = ?, lease_expires_at = ?, lease_epoch = lease_epoch + 1, updated_at = ? WHERE job_id = ?",
        owner,
        expires,
        sqliteTime(now),
        jobId,
      );
      const row = c.get(`SELECT ${RUN_SELECT} FROM jobs j JOIN workflow_executions e ON e.job_id = j.id WHERE j.id = ?`, jobId)!;
      return { fence: { owner, epoch: Number(lease.lease_epoch) + 1 }, job: runFromRow(row, this.checkpoints(jobId)) };
    });
  }

  async renewLease(jobId: string, fence: Fence, ttlMs: number): Promise<{ held: boolean; status: string | undefined }> {
    const now = new Date();
    const c = this.connection;
    const renewed = c.run(
      "UPDATE workflow_executions SET lease_expires_at = ?, updated_at = ? WHERE job_id = ? AND lease_owner = ? AND lease_epoch = ?",
      sqliteTime(new Date(now.getTime() + ttlMs)),
      sqliteTime(now),
      jobId,
      fence.owner,
      fence.epoch,
    );
    const job = c.get<{ status: string }>("SELECT status FROM jobs WHERE id = ?", jobId);
    return { held: renewed === 1, status: job?.status };
  }

  async releaseLease(jobId: string, fence: Fence): Promise<void> {
    this.connection.run(
      "UPDATE workflow_executions SET lease_owner = NULL, lease_expires_at = NULL, updated_at = ? WHERE job_id = ? AND lease_owner = ? AND lease_epoch = ?",
      sqliteTime(new Date()),
      jobId,
      fence.owner,
      fence.epoch,
    );
  }

  async findOrphans(now: Date, limit: number, localPrefix: string) {
    const rows = this.connection.all<{ job_id: string; lease_owner: string | null; lease_expires_at: string | null }>(
      `SELECT e.job_id, e.lease_owner, e.lease_expires_at FROM workflow_executions e JOIN jobs j ON j.id = e.job_id
       WHERE j.status IN ('running', 'queued') AND (e.lease_owner IS NULL OR e.lease_expires_at < ? OR substr(e.lease_owner, 1, length(?)) = ?)
       ORDER BY e.created_at LIMIT ?`,
      sqliteTime(now),
      localPrefix,
      localPrefix,
      limit,
    );
    return rows.map((row) => ({ jobId: row.job_id, leaseOwner: row.lease_owner, leaseExpiresAt: toDate(row.lease_expires_at) }));
  }

  async findExpiredDeadlines(now: Date, limit: number): Promise<string[]> {
    return this.connection
      .all<{ id: string }>(
        "SELECT id FROM jobs WHERE status IN ('queued', 'pending_retry', 'awaiting_approval', 'awaiting_input') AND deadline_at <= ? ORDER BY deadline_at LIMIT ?",
        sqliteTime(now),
        limit,
      )
      .map((row) => row.id);
  }

  async findExpiredApprovals(now: Date, limit: number): Promise<{ jobId: string; until: Date }[]> {
    return this.connection
      .all<{ id: string; awaiting_until: string }>("SELECT id, awaiting_until FROM jobs WHERE status = 'awaiting_approval' AND awaiting_until <= ? ORDER BY awaiting_until LIMIT ?", sqliteTime(now), limit)
      .map((row) => ({ jobId: row.id, until: toDate(row.awaiting_until)! }));
  }

  async findDueRetries(now: Date, limit: number) {
    const rows = this.connection.all<{ id: string; provider: string | null }>(
      `SELECT j.id, e.last_error_provider AS provider FROM jobs j JOIN workflow_executions e ON e.job_id = j.id
       WHERE j.status = 'pending_retry' AND j.next_retry_at <= ? ORDER BY j.next_retry_at LIMIT ?`,
      sqliteTime(now),
      limit,
    );
    return rows.map((row) => ({ jobId: row.id, provider: row.provider }));
  }

  async findQueuedBetween(after: Date, before: Date, limit: number): Promise<QueuedJob[]> {
    return this.connection
      .all("SELECT id, user_id, attempts FROM jobs WHERE status = 'queued' AND updated_at > ? AND updated_at < ? ORDER BY updated_at LIMIT ?", sqliteTime(after), sqliteTime(before), limit)
      .map(queuedJobFromRow);
  }

  async countQueuedBefore(before: Date): Promise<number> {
    return Number(this.connection.get<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE status = 'queued' AND updated_at <= ?", sqliteTime(before))!.n);
  }

  async readQueuedJob(jobId: string): Promise<QueuedJob | undefined> {
    const row = this.connection.get("SELECT id, user_id, attempts FROM jobs WHERE id = ?", jobId);
    return row && queuedJobFromRow(row);
  }

  async readJobState(jobId: string): Promise<JobState | undefined> {
    const row = this.connection.get("SELECT status, attempts, result, error, error_code, next_retry_at FROM jobs WHERE id = ?", jobId);
    return row && jobStateFromRow(row);
  }

  async readEvents(jobId: string, afterId: number, limit: number): Promise<StoredEvent[]> {
    const rows = this.connection.all<{ id: number; type: string; json: string }>(
      "SELECT id, type, data AS json FROM job_events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?",
      jobId,
      afterId,
      limit,
    );
    return rows.map((row) => ({ id: Number(row.id), type: row.type, json: row.json }));
  }

  async latestEventId(): Promise<number> {
    return Number(this.connection.get<{ id: number | null }>("SELECT max(id) AS id FROM job_events")?.id ?? 0);
  }

  async eventsSince(afterId: number, limit: number): Promise<{ id: number; jobId: string }[]> {
    return this.connection
      .all<{ id: number; job_id: string }>("SELECT id, job_id FROM job_events WHERE id > ? ORDER BY id LIMIT ?", afterId, limit)
      .map((row) => ({ id: Number(row.id), jobId: row.job_id }));
  }

  async ping(): Promise<void> {
    this.connection.get("SELECT 1");
  }

  async close(): Promise<void> {
    this.connection.close();
  }
}
