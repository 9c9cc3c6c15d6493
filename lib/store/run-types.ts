import "server-only";
import type { CheckpointStatus, JobEventInput } from "@/lib/contract/events";

// What a run writes and reads: the lease, a step's start and end, failures, waits and picks (re-exported by lib/store/types.ts).

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
