import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { ApprovalDecision, CandidatePick } from "@/lib/store/run-types";
import { json, RELEASE_LEASE, type WritePlan } from "@/lib/store/write-plan";

// The plans of writes made outside a run, by a person (a decision, a pick, a cancel, a retry) or by the
// sweep (retries, timeouts, deadlines, places in line); lib/store/write-plan.ts says what a plan is.

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
