import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { ApprovalWait, Failure, Fence, InputWait, Park, StepCompletion, StepFailure, StepStart } from "@/lib/store/run-types";
import { INCREMENT, json, RELEASE_LEASE, type CheckpointColumn, type CheckpointWrite, type ColumnValues, type WritePlan } from "@/lib/store/write-plan";

export * from "@/lib/store/action-plans";
export * from "@/lib/store/write-plan";

// The plans of a run's writes (its start, steps, failures and waits), each fenced by its lease;
// lib/store/write-plan.ts says what a plan is, lib/store/action-plans.ts holds the others.

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

