import "server-only";
import { randomUUID } from "node:crypto";
import { PlannedStore } from "@/lib/store/planned-store";
import type { AppliedPlan, WritePlan } from "@/lib/store/plans";
import { checkpointFromRow, EXECUTION_SELECT, executionFromRow, JOB_SELECT, jobFromRow, jobStateFromRow, queuedJobFromRow, rerunFromRow, RUN_SELECT, runFromRow, toDate, toJson } from "@/lib/store/rows";
import { SqliteConnection, sqliteTime } from "@/lib/store/sqlite/connection";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import { requeuePlan } from "@/lib/store/plans";
import { claimIdempotencyKey, completeIdempotencyKey, deleteExpiredIdempotencyKeys, releaseIdempotencyKey } from "@/lib/store/sqlite/idempotency";
import { insertJobRows } from "@/lib/store/sqlite/insert-job";
import { applySqlitePlans } from "@/lib/store/sqlite/plans";
import { countQueuedBefore, findDueRetries, findExpiredApprovals, findExpiredDeadlines, findOrphans, findQueuedBetween } from "@/lib/store/sqlite/sweep";
import { queuedPlace, readStepDurations, readTimelineEvents, readWaitingJobs } from "@/lib/store/sqlite/queue";
import { checkBudget, listCharges, readSpending, readUserBudget, remainingEstimate, setUserBudget } from "@/lib/store/sqlite/spending";
import { findPasswordUser, findTokenUser, readUser } from "@/lib/store/sqlite/users";
import * as accounts from "@/lib/store/sqlite/accounts";
import { SqliteWebhooks } from "@/lib/store/sqlite/webhooks";
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

  findOrphans = async (now: Date, limit: number, localPrefix: string) => findOrphans(this.connection, now, limit, localPrefix);
  findExpiredDeadlines = async (now: Date, limit: number) => findExpiredDeadlines(this.connection, now, limit);
  findExpiredApprovals = async (now: Date, limit: number) => findExpiredApprovals(this.connection, now, limit);
  findDueRetries = async (now: Date, limit: number) => findDueRetries(this.connection, now, limit);
  findQueuedBetween = async (after: Date, before: Date, limit: number) => findQueuedBetween(this.connection, after, before, limit);
  countQueuedBefore = async (before: Date) => countQueuedBefore(this.connection, before);

  protected async applyPlans(plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]> {
    return applySqlitePlans(this.connection, plans, now);
  }

  async insertJob(job: NewJob): Promise<string> {
    const id = randomUUID();
    this.connection.write(() => {
      // Within a budget: checked in the same write transaction as the insert.
      if (job.budget) checkBudget(this.connection, job.userId, job.budget, job.estimate?.micros ?? 0);
      insertJobRows(this.connection, id, job, sqliteTime(new Date()));
    });
    return id;
  }

  async insertIdempotentJob(job: NewJob & { id: string }, claim: IdempotencyClaim): Promise<{ jobId: string } | { existing: IdempotencyRecord }> {
    return this.connection.write(() => {
      const existing = claimIdempotencyKey(this.connection, claim);
      if (existing) return { existing };
      // A refusal by the budget throws: the key's claim is rolled back with the rest.
      if (job.budget) checkBudget(this.connection, job.userId, job.budget, job.estimate?.micros ?? 0);
      insertJobRows(this.connection, job.id, job, sqliteTime(claim.now));
      return { jobId: job.id };
    });
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    return this.connection.write(() => claimIdempotencyKey(this.connection, claim));
  }

  completeIdempotencyKey = (userId: string, key: string, response: IdempotentResponse) => completeIdempotencyKey(this.connection, userId, key, response);
  releaseIdempotencyKey = (userId: string, key: string) => releaseIdempotencyKey(this.connection, userId, key);
  deleteExpiredIdempotencyKeys = (now: Date, limit: number) => deleteExpiredIdempotencyKeys(this.connection, now, limit);

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
