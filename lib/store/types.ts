import "server-only";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import type { AccountStore } from "@/lib/store/account-types";
import type { IdempotencyClaim, IdempotencyRecord, IdempotentResponse, JobFilter, JobKey, JobWebhooks, WebhookAttemptRecord, WebhookMessageToSend, WebhookOutcome } from "@/lib/store/caller-types";
import type { EventWatchers, JobRecord, JobState, JobSummary, NewJob, QueuedJob, RerunSummary, StoredEvent, UploadFile } from "@/lib/store/job-types";
import type { ApprovalDecision, ApprovalWait, CandidatePick, Failure, Fence, InputWait, LeasedRun, Park, StepCompletion, StepFailure, StepStart } from "@/lib/store/run-types";
import type { BudgetGuard, Charge, Spending } from "@/lib/store/spending-types";
import type { StepDuration, TimelineEvent, WaitingJob } from "@/lib/store/queue-types";

export * from "@/lib/store/account-types";
export * from "@/lib/store/caller-types";
export * from "@/lib/store/job-types";
export * from "@/lib/store/run-types";
export * from "@/lib/store/spending-types";
export * from "@/lib/store/queue-types";
export * from "@/lib/store/user-types";

/**
 * The store: every durable read and write that the engine, the runner, the sweep, the stream and
 * the job routes make, behind one interface with one implementation per database
 * (lib/store/sqlite, lib/store/postgres); with AccountStore, the users, tokens and webhook deliveries
 * too. Nothing else writes the database. The contract suite (tests/store) runs the same cases against both.
 *
 * Writes of a running execution are fenced: they name the lease they hold (owner and epoch) and
 * change nothing once another runner has taken the execution since. They resolve false then, and
 * also when the job is no longer in the state the write expects (e.g. canceled meanwhile).
 */
export interface Store extends AccountStore {
  readonly dialect: "sqlite" | "postgresql";

  // ---- jobs
  /** The job (queued), its execution, its first event, its uploads and its workflow's version, in one transaction. */
  insertJob(job: NewJob): Promise<string>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /** A user's jobs, newest first; the cursor is the last job id of the previous page. */
  listJobs(userId: string, options: { limit: number; cursor?: string; status?: string }): Promise<{ jobs: JobSummary[]; nextCursor: string | null }>;
  /** A user's job ids matching the filter, oldest first, after the keyset `after` (bulk actions walk them a batch at a time). */
  findJobIds(userId: string, filter: JobFilter, limit: number, after?: JobKey): Promise<JobKey[]>;
  /** The job's upload, or with `field` the image sent for that extra image input (undefined: none was sent). */
  readUpload(jobId: string, field?: string): Promise<UploadFile | undefined>;
  /** The config.json a job's workflow had at `version`, as recorded when the first job of that version started. */
  readWorkflowVersion(workflowId: string, version: string): Promise<unknown>;
  /** The jobs rerun from this one (POST /workflows/rerun), oldest first. */
  listReruns(parentJobId: string): Promise<RerunSummary[]>;

  // ---- idempotency keys (lib/jobs/idempotency.ts)
  /**
   * The job (as insertJob) and its idempotency key row in one transaction, only if the key is
   * free or expired: the key's primary key decides between racing requests, never a read before.
   * `existing` is the key's record when it was taken (and no job was inserted).
   */
  insertIdempotentJob(job: NewJob & { id: string }, claim: IdempotencyClaim): Promise<{ jobId: string } | { existing: IdempotencyRecord }>;
  /** Takes a free or expired key for a request that has not answered yet; the key's record when it was taken. */
  claimIdempotencyKey(claim: IdempotencyClaim): Promise<IdempotencyRecord | undefined>;
  /** The answer to replay for a key this request claimed. */
  completeIdempotencyKey(userId: string, key: string, response: IdempotentResponse): Promise<void>;
  /** Frees a key whose request failed before answering (its answer is not kept: the same request may be sent again). */
  releaseIdempotencyKey(userId: string, key: string): Promise<void>;
  /** Deletes expired keys, at most `limit`; how many were deleted. */
  deleteExpiredIdempotencyKeys(now: Date, limit: number): Promise<number>;

  // ---- outgoing webhooks (lib/webhooks): messages are written with the events they carry (insertJob and every plan)
  /** The user's signing secret; `make()`'s when the user has none yet (the first caller's wins). */
  webhookSecret(userId: string, make: () => string): Promise<string>;
  rotateWebhookSecret(userId: string, secret: string): Promise<void>;
  /** Pending messages due by `now`, each the oldest pending message of its job (in order per job), unclaimed. */
  findDueWebhookMessages(now: Date, limit: number): Promise<string[]>;
  /** Claims a pending message until `until` (compare-and-set): false when another sender holds it or it is no longer pending. */
  claimWebhookMessage(id: string, now: Date, until: Date): Promise<boolean>;
  readWebhookMessage(id: string): Promise<WebhookMessageToSend | undefined>;
  /** One attempt's record and the message's new state, in one commit; the claim is dropped. */
  recordWebhookAttempt(id: string, attempt: WebhookAttemptRecord, outcome: WebhookOutcome): Promise<void>;
  /** When the next pending message is due, if any (for a wake-up timer). */
  nextWebhookAttemptAt(): Promise<Date | undefined>;
  /** A job's webhook and its messages with their attempts, oldest first. */
  readJobWebhooks(jobId: string): Promise<JobWebhooks | undefined>;

  // ---- leases and runs
  /**
   * Takes the execution's lease for `owner` when it is free, expired, already the owner's, or held
   * by an owner `takeOverFrom` says is dead; every take raises the epoch. Returns the job as the
   * run needs it, read under the lease. `ttlMs: null` holds the lease until it is released.
   */
  leaseRun(jobId: string, owner: string, options: { ttlMs: number | null; takeOverFrom?: (owner: string) => boolean }): Promise<LeasedRun | undefined>;
  /** Extends the lease; `held` is false once another take raised the epoch. `status` is the job's, to notice a cancel. */
  renewLease(jobId: string, fence: Fence, ttlMs: number): Promise<{ held: boolean; status: string | undefined }>;
  releaseLease(jobId: string, fence: Fence): Promise<void>;
  /**
   * The run begins: a queued job becomes running and counts an attempt, only if it is still queued
   * with the attempt count the run read (so a stale run cannot start a newer attempt); a running
   * job (resumed after a crash) stays running. With `step`, that step starts in the same commit.
   */
  beginRun(fence: Fence, run: { jobId: string; from: { status: "queued"; attempts: number } | { status: "running" }; step?: StepStart }): Promise<boolean>;
  startStep(fence: Fence, step: StepStart): Promise<boolean>;
  recordProgress(fence: Fence, progress: { jobId: string; progress: number; event: JobEventInput }): Promise<boolean>;
  saveStepState(fence: Fence, state: { jobId: string; stepIndex: number; candidate: number; state: Record<string, unknown> }): Promise<boolean>;
  /** A step's end, with the next step's start (`next`) or the job's completion (`result`) in the same commit. */
  completeStep(fence: Fence, completion: StepCompletion): Promise<boolean>;
  /** A retryable failure: the step's checkpoint, the job parked as pending_retry until `nextRetryAt`, the lease released. */
  parkJob(fence: Fence, park: Park): Promise<boolean>;
  /** The job fails (a hard error, the last attempt, or, without a fence, a failure outside any run). */
  failJob(fence: Fence | undefined, failure: Failure): Promise<boolean>;
  /** A step stopped by a cancel: its checkpoint says canceled, and a job still queued or running becomes canceled. */
  cancelStep(fence: Fence, cancel: { jobId: string; stepIndex: number; candidate: number; message: string; event: JobEventInput }): Promise<boolean>;

  /** The run stops before `stepIndex` until a person decides: awaiting_approval, the lease released, an `awaiting` event. */
  awaitApproval(fence: Fence, wait: ApprovalWait): Promise<boolean>;
  /** A step's candidates are done: the job waits as awaiting_input for a pick, the lease released, an `awaiting` event. */
  awaitInput(fence: Fence, wait: InputWait): Promise<boolean>;
  /** One candidate of a step failed for good (a hard error): its checkpoint says so; the job runs on with the others. */
  failCandidate(fence: Fence, failure: { jobId: string; step: StepFailure; events: JobEventInput[] }): Promise<boolean>;
  // ---- spending
  /** A user's spend since `since` (charged steps) and what their active jobs are still expected to spend, in micro-dollars. */
  readSpending(userId: string, since: Date): Promise<Spending>;
  /** A user's charged steps (cost above 0) completed in [from, to), oldest first, at most `limit`. */
  listCharges(userId: string, range: { from: Date; to: Date; limit: number }): Promise<Charge[]>;
  /** The monthly limit a user set for themselves, in micro-dollars; null when none. */
  readUserBudget(userId: string): Promise<number | null>;
  setUserBudget(userId: string, limitMicros: number | null): Promise<void>;

  // ---- place in line, ETA and timeline (lib/engine/queue-estimates.ts, lib/jobs/timeline.ts)
  /** The given jobs as a waiting job's announcement needs them (missing ones left out), in no set order. */
  readWaitingJobs(jobIds: readonly string[]): Promise<WaitingJob[]>;
  /**
   * The workflow's most recent completed step runs, at most `perStep` per step index, newest first:
   * their durations from the checkpoints' times, among the workflow's newest `perStep * 20` jobs (a
   * bounded read). Steps a rerun copied from its parent (attempt 0) are not runs.
   */
  readStepDurations(workflowId: string, perStep: number): Promise<StepDuration[]>;
  /** A job's events that change its state (every event but a progress report within a step), oldest first, at most `limit`. */
  readTimelineEvents(jobId: string, limit: number): Promise<TimelineEvent[]>;
  /**
   * A queued job's place among all queued jobs by the time they were queued (jobs.updated_at, ties
   * by id), 1 = first; undefined when the job is not queued. The place where no runner keeps a line (Inngest).
   */
  queuedPlace(jobId: string): Promise<number | undefined>;
  /**
   * Appends each job's progress event (its place in line), each only while that job is queued, all
   * in one transaction; for each, whether it was written.
   */
  announceQueued(announcements: readonly { jobId: string; event: JobEventInput }[]): Promise<boolean[]>;

  // ---- a person's actions
  /**
   * A person's decision on an awaiting job (compare-and-set on awaiting_approval, so of a decision
   * and a cancel exactly one applies): approved → running with no lease (a runner resumes it, no
   * attempt spent); rejected → canceled with the comment as its reason.
   */
  decideApproval(jobId: string, decision: ApprovalDecision): Promise<boolean>;
  /**
   * An awaiting job past its time fails with approval_timeout (compare-and-set, like a decision, on
   * awaiting_approval AND the wait ending at `until`: a check that read an earlier wait, since
   * approved and asked for again, changes nothing).
   */
  expireApproval(jobId: string, until: Date, event: JobEventInput & { type: "error" }): Promise<boolean>;
  /** awaiting_approval jobs whose wait ended before `now`, with the end of that wait. */
  findExpiredApprovals(now: Date, limit: number): Promise<{ jobId: string; until: Date }[]>;
  /**
   * A person's pick among a step's candidates (compare-and-set on awaiting_input at that step, so
   * of two picks, or a pick and a cancel, exactly one applies): the chosen candidate's output
   * becomes the step's own checkpoint (candidate 0), and the job is running with no lease (a runner
   * resumes it, no attempt spent).
   */
  pickCandidate(jobId: string, pick: CandidatePick): Promise<boolean>;
  /** Queued, parked or awaiting jobs whose deadline passed before `now`, earliest first (lib/engine/deadlines.ts). */
  findExpiredDeadlines(now: Date, limit: number): Promise<string[]>;
  /** A queued, parked or awaiting job past its deadline fails with deadline_exceeded (compare-and-set on its status). */
  expireDeadline(jobId: string, failure: { message: string; event: JobEventInput & { type: "error" } }): Promise<boolean>;
  cancelJob(jobId: string, change: { from: JobStatus; message: string; event: JobEventInput }): Promise<boolean>;
  /**
   * Manual retry: back to queued with a fresh set of automatic retries; any lease is dropped (its holder is stale).
   * With `budget`, throws BudgetExceededError (and changes nothing) when the job's remaining estimate would pass it.
   */
  requeueJob(jobId: string, change: { from: JobStatus; event: JobEventInput; budget?: BudgetGuard; deadlineAt?: Date }): Promise<boolean>;

  // ---- recovery and the retry sweep
  /** Queued or running executions whose lease is free, expired, or held by an owner starting with `localPrefix` (the caller checks those). */
  findOrphans(now: Date, limit: number, localPrefix: string): Promise<{ jobId: string; leaseOwner: string | null; leaseExpiresAt: Date | null }[]>;
  findDueRetries(now: Date, limit: number): Promise<{ jobId: string; provider: string | null }[]>;
  /** pending_retry → queued (compare-and-set): the caller runs it. */
  claimRetry(jobId: string): Promise<QueuedJob | undefined>;
  deferRetry(jobId: string, until: Date): Promise<void>;
  /** Queued jobs untouched since between `after` and `before` (Inngest: their event may be lost). */
  findQueuedBetween(after: Date, before: Date, limit: number): Promise<QueuedJob[]>;
  countQueuedBefore(before: Date): Promise<number>;
  readQueuedJob(jobId: string): Promise<QueuedJob | undefined>;
  readJobState(jobId: string): Promise<JobState | undefined>;

  // ---- events
  readEvents(jobId: string, afterId: number, limit: number): Promise<StoredEvent[]>;
  latestEventId(): Promise<number>;
  /** Jobs with events after `afterId` (the tail that wakes streams for other processes' events). */
  eventsSince(afterId: number, limit: number): Promise<{ id: number; jobId: string }[]>;
  /** PostgreSQL only: see lib/jobs/wakeups.ts. */
  readonly watchers?: EventWatchers;

  ping(): Promise<void>;
  close(): Promise<void>;
}
