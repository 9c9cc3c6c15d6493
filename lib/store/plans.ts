import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { ApprovalDecision, ApprovalWait, CandidatePick, Failure, Fence, InputWait, Park, StepCompletion, StepFailure, StepStart } from "@/lib/store/types";

/**
 * A guarded write of one job, described as data: which state it requires (the job's status, the
 * lease's fence), what it sets on the job and its execution, the checkpoint it upserts and the
 * events it appends. Each store renders a plan as prepared SQL for its database (one transaction
 * on SQLite, one statement on PostgreSQL) and applies all of it or nothing. Every write the engine,
 * the sweep and a person's actions make is one of the plans built here, so each is written once.
 */
export interface WritePlan {
  jobId: string;
  /** The job must have one of these statuses. */
  statusIn: readonly string[];
  /** The execution's lease must be this one (owner and epoch). */
  fence?: Fence;
  /** A queued job must have this attempt count (a stale run must not start a newer attempt). */
  queuedAttempts?: number;
  /** The execution must be at this step (a pick names the step it answers). */
  currentStep?: number;
  /** The job's wait must end at exactly this time (an approval timeout names the wait it ends). */
  awaitingUntil?: Date;
  job?: ColumnValues<JobColumn>;
  execution?: ColumnValues<ExecutionColumn>;
  checkpoints?: CheckpointWrite[];
  events: JobEventInput[];
}

/** What the plan's job looked like when the write applied. */
export interface AppliedPlan {
  userId: string;
  attempts: number;
}

/** A column's new value; INCREMENT adds one. */
export const INCREMENT = Symbol("increment");
export type ColumnValue = string | number | Date | null | JsonValue | typeof INCREMENT;
export type ColumnValues<C extends string> = Partial<Record<C, ColumnValue>>;
export type JsonValue = { json: unknown };
export const json = (value: unknown): JsonValue => ({ json: value });

export type ColumnType = "text" | "int" | "timestamp" | "json";

/** The columns a plan sets, in the order written, without those left undefined: what both renderers walk. */
export function setColumns<C extends string>(values: ColumnValues<C>): [C, ColumnValue][] {
  return (Object.entries(values) as [C, ColumnValue | undefined][]).filter((entry): entry is [C, ColumnValue] => entry[1] !== undefined);
}

/** The columns plans may set, with their SQL types (PostgreSQL casts; SQLite conversions). */
export const JOB_COLUMNS = {
  status: "text",
  progress: "int",
  attempts: "int",
  next_retry_at: "timestamp",
  result: "json",
  error: "text",
  error_code: "text",
  completed_at: "timestamp",
  approved_step: "int",
  awaiting_since: "timestamp",
  awaiting_until: "timestamp",
  deadline_at: "timestamp",
} as const satisfies Record<string, ColumnType>;
export type JobColumn = keyof typeof JOB_COLUMNS;

export const EXECUTION_COLUMNS = {
  current_step: "int",
  retry_count: "int",
  last_error: "text",
  last_error_class: "text",
  last_error_reason: "text",
  last_error_provider: "text",
  lease_owner: "text",
  lease_expires_at: "timestamp",
} as const satisfies Record<string, ColumnType>;
export type ExecutionColumn = keyof typeof EXECUTION_COLUMNS;

export const CHECKPOINT_COLUMNS = {
  status: "text",
  output: "json",
  error: "text",
  error_class: "text",
  error_reason: "text",
  state: "json",
  attempt: "int",
  started_at: "timestamp",
  completed_at: "timestamp",
  cost_micro_usd: "int",
  provider_ms: "int",
} as const satisfies Record<string, ColumnType>;
export type CheckpointColumn = keyof typeof CHECKPOINT_COLUMNS;

/** An upsert of one checkpoint row: `values` on insert; on conflict only the columns in `values` change. */
export interface CheckpointWrite {
  stepIndex: number;
  candidate: number;
  values: ColumnValues<CheckpointColumn> & { status: string };
}

const RELEASE_LEASE = { lease_owner: null, lease_expires_at: null } as const;

function startCheckpoint(step: StepStart): CheckpointWrite {
  // A restarted step keeps the state it saved (e.g. the prediction to re-attach to).
  return {
    stepIndex: step.stepIndex,
    candidate: step.candidate,
    values: {
      status: "running",
      attempt: step.attempt,
      started_at: step.startedAt,
      completed_at: null,
      output: null,
      error: null,
      error_class: null,
      error_reason: null,
      cost_micro_usd: null,
      provider_ms: null,
    },
  };
}

export function beginRunPlan(fence: Fence, run: { jobId: string; from: { status: "queued"; attempts: number } | { status: "running" }; step?: StepStart }): WritePlan {
  const queued = run.from.status === "queued";
  return {
    jobId: run.jobId,
    statusIn: [run.from.status],
    fence,
    ...(run.from.status === "queued" && { queuedAttempts: run.from.attempts }),
    job: { ...(queued && { status: "running", attempts: INCREMENT, next_retry_at: null }), ...(run.step && { progress: run.step.progress }) },
    ...(run.step && { execution: { current_step: run.step.stepIndex }, checkpoints: [startCheckpoint(run.step)] }),
    events: run.step ? [run.step.event] : [],
  };
}

export function startStepPlan(fence: Fence, step: StepStart): WritePlan {
  return {
    jobId: step.jobId,
    statusIn: ["running"],
    fence,
    job: { progress: step.progress },
    execution: { current_step: step.stepIndex },
    checkpoints: [startCheckpoint(step)],
    events: [step.event],
  };
}

export function progressPlan(fence: Fence, progress: { jobId: string; progress: number; event: JobEventInput }): WritePlan {
  return { jobId: progress.jobId, statusIn: ["running"], fence, job: { progress: progress.progress }, events: [progress.event] };
}

export function stepStatePlan(fence: Fence, state: { jobId: string; stepIndex: number; candidate: number; state: Record<string, unknown> }): WritePlan {
  return {
    jobId: state.jobId,
    statusIn: ["running"],
    fence,
    checkpoints: [{ stepIndex: state.stepIndex, candidate: state.candidate, values: { status: "running", state: json(state.state) } }],
    events: [],
  };
}

/**
 * A step's end. Its completed checkpoint drops the step's scratch state. With `next`, the same
 * commit starts the next step; with `result`, it completes the job and releases the lease.
 */
export function completeStepPlan(fence: Fence, done: StepCompletion): WritePlan {
  const completed: ColumnValues<CheckpointColumn> & { status: string } = {
    status: "completed",
    output: json(done.output),
    completed_at: done.completedAt,
    state: null,
    ...(done.cost && { cost_micro_usd: done.cost.micros, provider_ms: done.cost.providerMs }),
  };
  return {
    jobId: done.jobId,
    statusIn: ["running"],
    fence,
    job: done.result
      ? { status: "completed", progress: 100, result: json(done.result), error: null, error_code: null, completed_at: done.completedAt }
      : { progress: done.next?.progress ?? done.progress },
    // A candidate's end leaves the job at its step: the step ends with the pick.
    execution: { current_step: done.candidate > 0 ? done.stepIndex : (done.next?.stepIndex ?? done.stepIndex + 1), ...(done.result && RELEASE_LEASE) },
    checkpoints: [{ stepIndex: done.stepIndex, candidate: done.candidate, values: completed }, ...(done.next ? [startCheckpoint(done.next)] : [])],
    events: done.next ? [...done.events, done.next.event] : done.events,
  };
}

function failedCheckpoint(status: "failed_retryable" | "failed", step: NonNullable<Failure["step"]>): CheckpointWrite {
  return {
    stepIndex: step.stepIndex,
    candidate: step.candidate,
    // A failed step is not charged: the provider failed, or the run never produced what was paid for.
    values: { status, error: step.error, error_class: step.errorClass, error_reason: step.errorReason, cost_micro_usd: 0 },
  };
}

export function parkPlan(fence: Fence, park: Park): WritePlan {
  return {
    jobId: park.jobId,
    statusIn: ["running"],
    fence,
    job: { status: "pending_retry", next_retry_at: park.nextRetryAt, error: park.step.error, error_code: park.step.errorReason },
    execution: {
      retry_count: park.retryCount,
      last_error: park.step.error,
      last_error_class: "retryable",
      last_error_reason: park.step.errorReason,
      last_error_provider: park.provider,
      ...RELEASE_LEASE,
    },
    checkpoints: [failedCheckpoint("failed_retryable", park.step)],
    events: park.events,
  };
}

export function failPlan(fence: Fence | undefined, failure: Failure, now: Date): WritePlan {
  return {
    jobId: failure.jobId,
    // A run may fail its job before it began it (its workflow is gone or changed), so queued counts too.
    statusIn: ["queued", "running"],
    ...(fence && { fence }),
    job: { status: "failed", error: failure.message, error_code: failure.code, next_retry_at: null, completed_at: now },
    execution: {
      ...(failure.retryCount !== undefined && { retry_count: failure.retryCount }),
      last_error: failure.message,
      last_error_class: failure.errorClass,
      last_error_reason: failure.step?.errorReason ?? failure.code,
      last_error_provider: failure.provider,
      ...RELEASE_LEASE,
    },
    ...(failure.step && { checkpoints: [failedCheckpoint("failed", failure.step)] }),
    events: failure.events,
  };
}

/**
 * A step that saw its job canceled: the checkpoint says so (first plan); the job, if nobody marked
 * it canceled yet (a provider-side cancel), becomes canceled (second plan). Applied in one transaction.
 */
export function cancelStepPlans(fence: Fence, cancel: { jobId: string; stepIndex: number; candidate: number; message: string; event: JobEventInput }, now: Date): WritePlan[] {
  const checkpoint: CheckpointWrite = { stepIndex: cancel.stepIndex, candidate: cancel.candidate, values: { status: "canceled" } };
  return [
    { jobId: cancel.jobId, statusIn: ["queued", "running", "canceled"], fence, checkpoints: [checkpoint], events: [] },
    {
      jobId: cancel.jobId,
      statusIn: ["queued", "running"],
      fence,
      job: { status: "canceled", error: cancel.message, error_code: "canceled", completed_at: now },
      events: [cancel.event],
    },
  ];
}

/** The run stops before a step that needs approval: nothing runs until a person decides, no attempt is spent. */
export function awaitApprovalPlan(fence: Fence, wait: ApprovalWait): WritePlan {
  return {
    jobId: wait.jobId,
    statusIn: ["running"],
    fence,
    job: { status: "awaiting_approval", awaiting_since: wait.since, awaiting_until: wait.until },
    execution: { current_step: wait.stepIndex, ...RELEASE_LEASE },
    events: [wait.event],
  };
}

/**
 * Approved: running again with no lease (the runner takes it, as after a crash, without counting a
 * run), the step marked approved. Rejected: canceled with the person's comment as the reason.
 */
export function decideApprovalPlan(jobId: string, decision: ApprovalDecision, now: Date): WritePlan {
  const ended = { awaiting_since: null, awaiting_until: null };
  if (decision.approve) {
    return { jobId, statusIn: ["awaiting_approval"], job: { status: "running", approved_step: decision.stepIndex, ...ended }, execution: RELEASE_LEASE, events: [decision.event] };
  }
  return {
    jobId,
    statusIn: ["awaiting_approval"],
    job: { status: "canceled", error: decision.message, error_code: "approval_rejected", completed_at: now, ...ended },
    events: [decision.event],
  };
}

export function expireApprovalPlan(jobId: string, until: Date, event: JobEventInput & { type: "error" }, now: Date): WritePlan {
  const message = event.data.error;
  return {
    jobId,
    statusIn: ["awaiting_approval"],
    awaitingUntil: until,
    job: { status: "failed", error: message, error_code: "approval_timeout", completed_at: now, awaiting_since: null, awaiting_until: null },
    execution: { last_error: message, last_error_class: "hard", last_error_reason: "approval_timeout" },
    events: [event],
  };
}

export function cancelJobPlan(jobId: string, change: { from: string; message: string; event: JobEventInput }, now: Date): WritePlan {
  return {
    jobId,
    statusIn: [change.from],
    job: { status: "canceled", error: change.message, error_code: "canceled", next_retry_at: null, completed_at: now, awaiting_since: null, awaiting_until: null },
    events: [change.event],
  };
}

export function requeuePlan(jobId: string, change: { from: string; event: JobEventInput; deadlineAt?: Date }): WritePlan {
  return {
    jobId,
    statusIn: [change.from],
    // A retried job with a deadline gets a fresh one (as long as the first), from now.
    job: { status: "queued", next_retry_at: null, error: null, error_code: null, completed_at: null, ...(change.deadlineAt && { deadline_at: change.deadlineAt }) },
    execution: { retry_count: 0, ...RELEASE_LEASE },
    events: [change.event],
  };
}

export function claimRetryPlan(jobId: string): WritePlan {
  return { jobId, statusIn: ["pending_retry"], job: { status: "queued", next_retry_at: null }, execution: RELEASE_LEASE, events: [] };
}

export function deferRetryPlan(jobId: string, until: Date): WritePlan {
  return { jobId, statusIn: ["pending_retry"], job: { next_retry_at: until }, events: [] };
}

/** A queued job's new place in line: an event, written only while the job is still queued. */
export function announceQueuedPlan(jobId: string, event: JobEventInput): WritePlan {
  return { jobId, statusIn: ["queued"], events: [event] };
}

/** A step's candidates are done: the job waits for a person's pick. Nothing runs and no attempt is spent meanwhile. */
export function awaitInputPlan(fence: Fence, wait: InputWait): WritePlan {
  return {
    jobId: wait.jobId,
    statusIn: ["running"],
    fence,
    job: { status: "awaiting_input", awaiting_since: wait.since, awaiting_until: null },
    execution: { current_step: wait.stepIndex, ...RELEASE_LEASE },
    events: [wait.event],
  };
}

/** A candidate that failed for good: only its own checkpoint changes; the job runs on. */
export function failCandidatePlan(fence: Fence, failure: { jobId: string; step: StepFailure; events: JobEventInput[] }): WritePlan {
  return { jobId: failure.jobId, statusIn: ["running"], fence, checkpoints: [failedCheckpoint("failed", failure.step)], events: failure.events };
}

/**
 * The pick: the chosen candidate's output becomes the step's own checkpoint (candidate 0, which
 * every reader of the note's layout shows), costing nothing itself (the candidates carry the cost),
 * and the job runs again with no lease, as an approved one does.
 */
export function pickCandidatePlan(jobId: string, pick: CandidatePick): WritePlan {
  return {
    jobId,
    statusIn: ["awaiting_input"],
    currentStep: pick.stepIndex,
    job: { status: "running", awaiting_since: null, awaiting_until: null },
    execution: RELEASE_LEASE,
    checkpoints: [
      {
        stepIndex: pick.stepIndex,
        candidate: 0,
        values: { status: "completed", output: json(pick.output), completed_at: pick.pickedAt, state: null, error: null, error_class: null, error_reason: null, cost_micro_usd: 0, provider_ms: null },
      },
    ],
    events: pick.events,
  };
}

/**
 * A job waiting to run (queued, parked, awaiting approval or a pick) past its deadline fails with
 * deadline_exceeded; any lease is dropped with it. A running job is failed by its own run.
 */
export function expireDeadlinePlan(jobId: string, failure: { message: string; event: JobEventInput }, now: Date): WritePlan {
  return {
    jobId,
    statusIn: ["queued", "pending_retry", "awaiting_approval", "awaiting_input"],
    job: { status: "failed", error: failure.message, error_code: "deadline_exceeded", next_retry_at: null, completed_at: now, awaiting_since: null, awaiting_until: null },
    execution: { last_error: failure.message, last_error_class: "hard", last_error_reason: "deadline_exceeded", ...RELEASE_LEASE },
    events: [failure.event],
  };
}
