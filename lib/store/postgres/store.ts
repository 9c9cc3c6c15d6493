import "server-only";
import { randomUUID } from "node:crypto";
import type pg from "pg";
import { PlannedStore } from "@/lib/store/planned-store";
import type { AppliedPlan, WritePlan } from "@/lib/store/plans";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import { requeuePlan } from "@/lib/store/plans";
import { PostgresConnection, postgresTime, type Query } from "@/lib/store/postgres/connection";
import { CLAIM_KEY, claimValues, insertJobStatement } from "@/lib/store/postgres/insert-job";
import { applyPostgresPlan, applyPostgresPlans } from "@/lib/store/postgres/plans";
import { queuedPlace, readStepDurations, readTimelineEvents, readWaitingJobs } from "@/lib/store/postgres/queue";
import { checkBudget, listCharges, readSpending, readUserBudget, remainingEstimate, setUserBudget } from "@/lib/store/postgres/spending";
import { CHECKPOINTS_OF_JOB, checkpointsFromJson, findJobIds, getJob, listJobs, listReruns, readUpload, readWorkflowVersion } from "@/lib/store/postgres/jobs";
import { countQueuedBefore, findDueRetries, findExpiredApprovals, findExpiredDeadlines, findOrphans, findQueuedBetween } from "@/lib/store/postgres/sweep";
import { PostgresEventWatchers } from "@/lib/store/postgres/watchers";
import { findPasswordUser, findTokenUser, readUser } from "@/lib/store/postgres/users";
import * as accounts from "@/lib/store/postgres/accounts";
import { PostgresWebhooks } from "@/lib/store/postgres/webhooks";
import { idempotencyFromRow, jobStateFromRow, queuedJobFromRow, runFromRow } from "@/lib/store/rows";
import { isBudgetExceeded, type BudgetGuard, type Charge, type Fence, type IdempotencyClaim, type IdempotencyRecord, type IdempotentResponse, type JobFilter, type JobKey, type JobState, type LeasedRun, type NewApiToken, type NewJob, type NewOAuthUser, type NewPasswordUser, type QueuedJob, type Spending, type Store, type StoredEvent, type WebhookAttemptRecord, type WebhookOutcome } from "@/lib/store/types";

/**
 * The store on PostgreSQL (production): named prepared statements on the process's pool, each
 * write one statement (lib/store/postgres/plans.ts), each read one round trip.
 */
export class PostgresStore extends PlannedStore implements Store {
  readonly dialect = "postgresql" as const;
  readonly watchers: PostgresEventWatchers;
  private readonly connection: PostgresConnection;
  private readonly webhooks: PostgresWebhooks;

  constructor(
    private readonly pool: pg.Pool,
    connectionString: string,
  ) {
    super();
    this.connection = new PostgresConnection(pool);
    this.watchers = new PostgresEventWatchers(this.connection, connectionString);
    this.webhooks = new PostgresWebhooks(this.connection);
  }

  webhookSecret = (userId: string, make: () => string) => this.webhooks.webhookSecret(userId, make);
  rotateWebhookSecret = (userId: string, secret: string) => this.webhooks.rotateWebhookSecret(userId, secret);
  findDueWebhookMessages = (now: Date, limit: number) => this.webhooks.findDueWebhookMessages(now, limit);
  claimWebhookMessage = (id: string, now: Date, until: Date) => this.webhooks.claimWebhookMessage(id, now, until);
  readWebhookMessage = (id: string) => this.webhooks.readWebhookMessage(id);
  recordWebhookAttempt = (id: string, attempt: WebhookAttemptRecord, outcome: WebhookOutcome) => this.webhooks.recordWebhookAttempt(id, attempt, outcome);
  nextWebhookAttemptAt = () => this.webhooks.nextWebhookAttemptAt();
  readJobWebhooks = (jobId: string) => this.webhooks.readJobWebhooks(jobId);
  findTokenUser = (tokenHash: string, now: Date, touchAfterMs: number) => findTokenUser(this.connection, tokenHash, now, touchAfterMs);
  readUser = (userId: string) => readUser(this.connection, userId);
  findPasswordUser = (email: string) => findPasswordUser(this.connection, email);
  insertPasswordUser = (user: NewPasswordUser) => accounts.insertPasswordUser(this.connection, user, new Date());
  replacePasswordHash = (userId: string, oldHash: string, newHash: string) => accounts.replacePasswordHash(this.connection, userId, oldHash, newHash);
  ensureUser = (email: string) => accounts.ensureUser(this.connection, email, new Date());
  findOAuthUserId = (provider: string, providerAccountId: string) => accounts.findOAuthUserId(this.connection, provider, providerAccountId);
  insertOAuthUser = (user: NewOAuthUser) => accounts.insertOAuthUser(this.connection, user, new Date());
  insertApiToken = (token: NewApiToken) => accounts.insertApiToken(this.connection, token, new Date());
  listApiTokens = (userId: string) => accounts.listApiTokens(this.connection, userId);
  revokeApiToken = (userId: string, tokenId: string, now: Date) => accounts.revokeApiToken(this.connection, userId, tokenId, now);
  claimWebhookDelivery = (id: string, source: string, now: Date) => accounts.claimWebhookDelivery(this.connection, id, source, now);
  forgetWebhookDelivery = (id: string) => accounts.forgetWebhookDelivery(this.connection, id);
  deleteWebhookDeliveries = (source: string, before: Date) => accounts.deleteWebhookDeliveries(this.connection, source, before);

  readWaitingJobs = (jobIds: readonly string[]) => readWaitingJobs(this.connection, jobIds);
  readStepDurations = (workflowId: string, perStep: number) => readStepDurations(this.connection, workflowId, perStep);
  readTimelineEvents = (jobId: string, limit: number) => readTimelineEvents(this.connection, jobId, limit);
  queuedPlace = (jobId: string) => queuedPlace(this.connection, jobId);

  getJob = (jobId: string) => getJob(this.connection, jobId);
  listJobs = (userId: string, options: { limit: number; cursor?: string; status?: string }) => listJobs(this.connection, userId, options);
  findJobIds = (userId: string, filter: JobFilter, limit: number, after?: JobKey) => findJobIds(this.connection, userId, filter, limit, after);
  readUpload = (jobId: string, field?: string) => readUpload(this.connection, jobId, field);
  readWorkflowVersion = (workflowId: string, version: string) => readWorkflowVersion(this.connection, workflowId, version);
  listReruns = (parentJobId: string) => listReruns(this.connection, parentJobId);

  findOrphans = (now: Date, limit: number, localPrefix: string) => findOrphans(this.connection, now, limit, localPrefix);
  findExpiredDeadlines = (now: Date, limit: number) => findExpiredDeadlines(this.connection, now, limit);
  findExpiredApprovals = (now: Date, limit: number) => findExpiredApprovals(this.connection, now, limit);
  findDueRetries = (now: Date, limit: number) => findDueRetries(this.connection, now, limit);
  findQueuedBetween = (after: Date, before: Date, limit: number) => findQueuedBetween(this.connection, after, before, limit);
  countQueuedBefore = (before: Date) => countQueuedBefore(this.connection, before);

  protected applyPlans(plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]> {
    return applyPostgresPlans(this.connection, plans, now);
  }

  async insertJob(job: NewJob): Promise<string> {
    const id = randomUUID();
    const budget = job.budget;
    if (!budget) await this.connection.query(...insertJobStatement(id, job, new Date(), undefined));
    else await this.insertWithinBudget(id, job, budget, undefined);
    return id;
  }

  async insertIdempotentJob(job: NewJob & { id: string }, claim: IdempotencyClaim): Promise<{ jobId: string } | { existing: IdempotencyRecord }> {
    // The key's row is the first CTE; the job's rows are inserted from it, so a key already taken
    // (a racing request waits on its uncommitted row, then sees the conflict) inserts no job.
    for (;;) {
      const budget = job.budget;
      let inserted: boolean;
      try {
        inserted = budget
          ? await this.insertWithinBudget(job.id, job, budget, claim)
          : (await this.connection.query(...insertJobStatement(job.id, job, claim.now, claim))).rows.length > 0;
      } catch (error) {
        // A replay is answered as it was first answered, whatever the month's spend is now.
        const existing = isBudgetExceeded(error) ? await this.readKey(claim.userId, claim.key) : undefined;
        if (existing) return { existing };
        throw error;
      }
      if (inserted) return { jobId: job.id };
      const existing = await this.readKey(claim.userId, claim.key);
      // Deleted as expired between the two statements: take it again.
      if (existing) return { existing };
    }
  }

  /**
   * Within a budget: the check (under the user's row lock, taken first as every budgeted write
   * takes it) and the insert commit together; a refusal throws and stores nothing.
   */
  private insertWithinBudget(id: string, job: NewJob, budget: BudgetGuard, claim: IdempotencyClaim | undefined): Promise<boolean> {
    return this.connection.transaction(async (query: Query) => {
      await checkBudget(query, job.userId, budget, job.estimate?.micros ?? 0);
      const { rows } = await query(...insertJobStatement(id, job, claim?.now ?? new Date(), claim));
      return rows.length > 0;
    });
  }

  async claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined> {
    for (;;) {
      const { rows } = await this.connection.query(`${CLAIM_KEY} RETURNING 1`, claimValues(claim));
      if (rows.length > 0) return undefined;
      const existing = await this.readKey(claim.userId, claim.key);
      if (existing) return existing;
    }
  }

  private async readKey(userId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await this.connection.query("SELECT * FROM idempotency_keys WHERE user_id = $1 AND key = $2", [userId, key]);
    return rows[0] && idempotencyFromRow(rows[0]);
  }

  async completeIdempotencyKey(userId: string, key: string, response: IdempotentResponse): Promise<void> {
    await this.connection.query(
      "UPDATE idempotency_keys SET response_status = $1::int, response_body = $2::jsonb WHERE user_id = $3 AND key = $4 AND response_status IS NULL",
      [response.status, JSON.stringify(response.body), userId, key],
    );
  }

  async releaseIdempotencyKey(userId: string, key: string): Promise<void> {
    await this.connection.query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND response_status IS NULL", [userId, key]);
  }

  async deleteExpiredIdempotencyKeys(now: Date, limit: number): Promise<number> {
    const { rowCount } = await this.connection.query(
      "DELETE FROM idempotency_keys WHERE (user_id, key) IN (SELECT user_id, key FROM idempotency_keys WHERE expires_at <= $1::timestamp(3) ORDER BY expires_at LIMIT $2)",
      [postgresTime(now), limit],
    );
    return rowCount;
  }

  override async requeueJob(jobId: string, change: { from: JobStatus; event: JobEventInput; budget?: BudgetGuard; deadlineAt?: Date }): Promise<boolean> {
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
       SELECT j.id, j.user_id, j.workflow_id, j.workflow_version, j.status, j.inputs, j.attempts, j.approval_steps, j.approved_step, j.candidates, j.models, j.deadline_at, taken.retry_count, taken.max_attempts, taken.lease_epoch, ${CHECKPOINTS_OF_JOB}
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
