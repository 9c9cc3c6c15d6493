import "server-only";
import type { CheckpointStatus, JobEventInput, JobStatus } from "@/lib/contract/events";
import type { IdempotencyClaim, IdempotencyRecord, IdempotentResponse, JobFilter, JobKey, JobWebhooks, WebhookAttemptRecord, WebhookMessageToSend, WebhookOutcome } from "@/lib/store/caller-types";
import type { BudgetGuard, Charge, Spending } from "@/lib/store/spending-types";
import type { StepDuration, TimelineEvent, WaitingJob } from "@/lib/store/queue-types";
import type { AuthUser, PasswordUser } from "@/lib/store/user-types";
import type { ApiTokenRecord, NewApiToken, NewOAuthUser, NewPasswordUser } from "@/lib/store/account-types";

export * from "@/lib/store/account-types";
export * from "@/lib/store/caller-types";
export * from "@/lib/store/spending-types";
export * from "@/lib/store/queue-types";
export * from "@/lib/store/user-types";

/**
 * The store: every durable read and write that the engine, the runner, the sweep, the stream and
 * the job routes make, behind one interface with one implementation per database
 * (lib/store/sqlite, lib/store/postgres). Nothing else writes jobs, executions, checkpoints,
 * events or uploads. The contract suite (tests/store) runs the same cases against both.
 *
 * Writes of a running execution are fenced: they name the lease they hold (owner and epoch) and
 * change nothing once another runner has taken the execution since. They resolve false then, and
 * also when the job is no longer in the state the write expects (e.g. canceled meanwhile).
 */
export interface Store {
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

  // ---- authentication (lib/auth): read on every API request, so on the store's prepared statements, not Prisma
  /**
   * The user of the API token whose SHA-256 this is, unless the token is revoked. Marks the token
   * used at `now` when its last use is older than `touchAfterMs` (or never), so that authenticating
   * costs no write per request.
   */
  findTokenUser(tokenHash: string, now: Date, touchAfterMs: number): Promise<AuthUser | undefined>;
  /** A user by id (the web session checks that its user still exists). */
  readUser(userId: string): Promise<AuthUser | undefined>;
  /**
   * A user by normalised email, with the password hash (null for token-only and OAuth users): what
   * sign-in verifies and sign-up refuses before it hashes anything.
   */
  findPasswordUser(email: string): Promise<PasswordUser | undefined>;

  // ---- accounts (lib/auth, the token CLI, the Replicate webhook receiver): cold paths, but written only here
  /** A sign-up's user; undefined when the email is taken (the unique index decides between racing sign-ups). */
  insertPasswordUser(user: NewPasswordUser): Promise<{ id: string; email: string } | undefined>;
  /** Replaces a user's password hash only while it is still `oldHash` (a password changed meanwhile wins); whether it did. */
  replacePasswordHash(userId: string, oldHash: string, newHash: string): Promise<boolean>;
  /** The user with this email, created without a password when there is none (npm run token:create). */
  ensureUser(email: string): Promise<AuthUser>;
  /** The user an OAuth account is linked to. */
  findOAuthUserId(provider: string, providerAccountId: string): Promise<string | undefined>;
  /** A new user and its OAuth account in one transaction; undefined (and nothing written) when the email is taken. */
  insertOAuthUser(user: NewOAuthUser): Promise<string | undefined>;
  insertApiToken(token: NewApiToken): Promise<ApiTokenRecord>;
  /** A user's API tokens, revoked ones too, newest first. */
  listApiTokens(userId: string): Promise<ApiTokenRecord[]>;
  /** Revokes one of the user's tokens at `now`; false when it is not theirs or already revoked. */
  revokeApiToken(userId: string, tokenId: string, now: Date): Promise<boolean>;
  /** Records an incoming webhook delivery's id: true when it is new, false when it was recorded before. */
  claimWebhookDelivery(id: string, source: string, now: Date): Promise<boolean>;
  /** Forgets a delivery whose processing failed, so that its retry is processed. */
  forgetWebhookDelivery(id: string): Promise<void>;
  /** Deletes a source's deliveries received before `before`; how many. */
  deleteWebhookDeliveries(source: string, before: Date): Promise<number>;
}

/** A lease: who holds it and the fencing number of their take. */
export interface Fence {
  readonly owner: string;
  readonly epoch: number;
  /**
   * Any take of the lease by the same owner holds: the writes of a step's candidates under
   * Inngest, whose parallel steps run in invocations of one run that each take the lease again
   * (docs/decisions/2026-12-02-candidates-as-checkpoint-rows.md). Each candidate writes only its own row.
   */
  readonly anyEpoch?: boolean;
}

export interface ApprovalWait {
  jobId: string;
  stepIndex: number;
  since: Date;
  until: Date;
  event: JobEventInput;
}

export interface InputWait {
  jobId: string;
  stepIndex: number;
  since: Date;
  event: JobEventInput;
}

export interface CandidatePick {
  stepIndex: number;
  candidate: number;
  /** The chosen candidate's output: the step's output from now on. */
  output: Record<string, unknown>;
  pickedAt: Date;
  events: JobEventInput[];
}

/**
 * Steps that run as several candidates, by step index (counts above 1 only), and whether the
 * first candidate that succeeded is picked without asking (auto_pick at execute time).
 */
export interface JobCandidates {
  steps: Record<number, number>;
  autoPick: boolean;
}

export type ApprovalDecision =
  | { approve: true; stepIndex: number; event: JobEventInput }
  | { approve: false; message: string; event: JobEventInput };

export interface LeasedRun {
  fence: Fence;
  job: RunSnapshot;
}

/** What a run needs of its job, read once when it takes the execution. */
export interface RunSnapshot {
  jobId: string;
  userId: string;
  workflowId: string;
  workflowVersion: string | null;
  status: string;
  inputs: Record<string, string>;
  attempts: number;
  retryCount: number;
  maxAttempts: number;
  /** Steps the job stops before until approved, and the last step approved. */
  approvalSteps: number[];
  approvedStep: number | null;
  /** The model each step with a choice runs, by step name (lib/workflows/models.ts). */
  models: Record<string, string>;
  candidates: JobCandidates;
  /** When the whole run must have ended (deadline_seconds at execute); null: no deadline. */
  deadlineAt: Date | null;
  checkpoints: CheckpointRow[];
}

export interface CheckpointRow {
  stepIndex: number;
  candidate: number;
  status: CheckpointStatus;
  output: Record<string, unknown> | null;
  error: string | null;
  errorClass: "retryable" | "hard" | null;
  errorReason: string | null;
  state: Record<string, unknown> | null;
  attempt: number;
  startedAt: Date | null;
  completedAt: Date | null;
  /** What the step cost in micro-dollars: set when it completed (null: unknown price), 0 when it failed. */
  costMicroUsd: number | null;
  /** The provider's own time for the step's model runs, when it reports one. */
  providerMs: number | null;
}

/** A new job's cost estimate: its total and each step's (null: unknown), in micro-dollars (lib/workflows/pricing.ts). */
export interface JobEstimate {
  micros: number;
  steps: (number | null)[];
}

export interface StepStart {
  jobId: string;
  stepIndex: number;
  candidate: number;
  /** The run (jobs.attempts) the step belongs to. */
  attempt: number;
  startedAt: Date;
  progress: number;
  event: JobEventInput;
}

export interface StepCompletion {
  jobId: string;
  stepIndex: number;
  candidate: number;
  output: Record<string, unknown>;
  /** What the step cost (micro-dollars, null when its price is unknown) and its provider's own time; absent: left as recorded. */
  cost?: { micros: number | null; providerMs: number | null };
  completedAt: Date;
  progress: number;
  events: JobEventInput[];
  next?: StepStart;
  /** Set when this was the last step: the job completes with this result and the lease is released. */
  result?: Record<string, unknown>;
}

export interface StepFailure {
  stepIndex: number;
  candidate: number;
  error: string;
  errorClass: "retryable" | "hard";
  errorReason: string;
}

export interface Park {
  jobId: string;
  step: StepFailure;
  retryCount: number;
  nextRetryAt: Date;
  provider: string | null;
  events: JobEventInput[];
}

export interface Failure {
  jobId: string;
  /** The step that failed; none for a failure outside any step. */
  step?: StepFailure;
  code: string;
  message: string;
  errorClass: "retryable" | "hard";
  provider: string | null;
  retryCount?: number;
  events: JobEventInput[];
}

export interface NewJob {
  userId: string;
  workflow: { id: string; version: string; config: unknown };
  inputs: Record<string, string>;
  maxAttempts: number;
  /** The job's cost estimate (none: 0). */
  estimate?: JobEstimate;
  budget?: BudgetGuard;
  /** The job's first event (the "Queued" progress event), so a stream opened at once has something to show. */
  firstEvent: JobEventInput;
  /** The job's upload: the `file` field, or the workflow's first image input (stored as field ""). */
  upload?: NewUpload;
  /** The images sent for the workflow's other image inputs, each kept in a row of its own field (the input's name). */
  extraUploads?: (NewUpload & { field: string })[];
  /** Step indexes the job stops before until a person approves them. */
  approvalSteps?: number[];
  /** Steps that run as several candidates (none: every step runs once). */
  candidates?: JobCandidates;
  /** A rerun: its parent, the step it runs from, and what it takes from the parent (see NewRerun). */
  rerun?: NewRerun;
  /** Where the job's events of these types are delivered (a message per event, from the first). */
  webhook?: { url: string; events: string[] };
  /** The model each step with a choice runs, by step name (lib/workflows/models.ts). */
  models?: Record<string, string>;
  /** The whole run must have ended by then (deadline_seconds), else it fails with deadline_exceeded. */
  deadlineAt?: Date;
}

export interface NewUpload {
  filename: string;
  contentType: string;
  data: Buffer;
  width: number;
  height: number;
}

/**
 * What a rerun takes from its parent in the same transaction as its own rows: a copy of the
 * parent's uploads, every field (no new upload anywhere) and the parent's completed checkpoints before the step
 * it runs from, as its own completed checkpoints (no provider is called for them again).
 */
export interface NewRerun {
  parentJobId: string;
  fromStep: number;
  /** The job starts at this overall progress (the copied steps are done). */
  progress: number;
  checkpoints: { stepIndex: number; candidate: number; output: Record<string, unknown>; startedAt: Date | null; completedAt: Date | null }[];
  /** Events written before the first event: one checkpoint event per copied step, so a stream shows them done. */
  copiedEvents: JobEventInput[];
}

export interface RerunSummary {
  id: string;
  status: string;
  rerunFromStep: number;
  createdAt: Date;
}

export interface UploadSummary {
  filename: string;
  contentType: string;
  size: number;
  width: number;
  height: number;
}

export interface UploadFile {
  filename: string;
  contentType: string;
  data: Buffer;
}

export interface JobSummary {
  id: string;
  userId: string;
  workflowId: string;
  workflowVersion: string | null;
  status: string;
  progress: number;
  inputs: Record<string, string>;
  result: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
  attempts: number;
  /** The execution's failed attempts in this series, and the attempts a series may make (lib/jobs/attempts.ts). */
  retryCount: number;
  maxAttempts: number;
  nextRetryAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  upload: UploadSummary | null;
  /** The job this one reruns, and the step it ran from; null for a job started by execute. */
  parentJobId: string | null;
  rerunFromStep: number | null;
  approvalSteps: number[];
  /** While awaiting_approval: since when, and when the wait times out. */
  awaitingSince: Date | null;
  awaitingUntil: Date | null;
  /** Steps that run as several candidates, and whether the first that succeeded is picked without asking. */
  candidates: JobCandidates;
  /** The cost estimated when the job was created. */
  estimate: JobEstimate;
  /** What its completed steps cost so far, in micro-dollars (steps of unknown price not counted). */
  actualMicroUsd: number;
  /** The model each step with a choice runs, by step name ({} when no step offers a choice). */
  models: Record<string, string>;
  /** When the whole run must have ended, else it fails with deadline_exceeded; null: no deadline. */
  deadlineAt: Date | null;
}

export interface ExecutionRecord {
  id: string;
  jobId: string;
  workflowId: string;
  currentStep: number;
  retryCount: number;
  maxAttempts: number;
  lastError: string | null;
  lastErrorClass: string | null;
  lastErrorReason: string | null;
  lastErrorProvider: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface JobRecord extends JobSummary {
  execution: ExecutionRecord;
  checkpoints: CheckpointRow[];
}

/** A job as a driver needs it to hand the job to its runner. */
export interface QueuedJob {
  id: string;
  userId: string;
  attempts: number;
}

export interface JobState {
  status: string;
  attempts: number;
  result: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
  nextRetryAt: Date | null;
}

/** An event as stored: its data is the stored JSON text, sent to streams as it is. */
export interface StoredEvent {
  id: number;
  type: string;
  json: string;
}

/**
 * PostgreSQL's wake-ups for other processes' events (lib/jobs/wakeups.ts): rows of the jobs a
 * process follows, for which the job_events trigger sends NOTIFY, and the connection that LISTENs.
 */
export interface EventWatchers {
  watch(jobId: string, processId: string, ttlSeconds: number): Promise<void>;
  unwatch(jobId: string, processId: string): Promise<void>;
  refresh(jobIds: string[], processId: string, ttlSeconds: number): Promise<void>;
  deleteExpired(): Promise<void>;
  /** Opens a connection that LISTENs; `onLost` is called once when it fails or closes. */
  listen(onJob: (jobId: string) => void, onLost: (error?: unknown) => void): Promise<EventListenerConnection>;
}

export interface EventListenerConnection {
  ping(): Promise<void>;
  close(): Promise<void>;
}
