/**
 * The progress-event contract: SSE event names and payloads, defined once and imported by the
 * server that writes them (the engine, into the job event log) and the client that reads them.
 */

export const JOB_STATUSES = ["queued", "running", "pending_retry", "awaiting_approval", "awaiting_input", "completed", "failed", "canceled"] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ["completed", "failed", "canceled"];

export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_STATUSES as readonly string[]).includes(status);
}

export type CheckpointStatus = "running" | "completed" | "failed_retryable" | "failed" | "canceled";

/** One entry of workflow_executions.checkpoints, keyed by the step's index as a string. */
export interface Checkpoint {
  status: CheckpointStatus;
  output?: Record<string, unknown>;
  error?: string;
  /** "retryable" | "hard" for failures. */
  error_class?: "retryable" | "hard";
  /** quota | rate_limit | outage | auth | timeout, or the hard error's code. */
  error_reason?: string;
  /** Durable scratch state a step saved while running (e.g. a prediction id to re-attach to). */
  state?: Record<string, unknown>;
  started_at?: string;
  completed_at?: string;
  /** A step run as candidates: each one's checkpoint (numbered from 1), and which was picked once one was. */
  candidates?: CandidateCheckpoint[];
  picked_candidate?: number;
}

/** One candidate of a step: its number (1..n) and its checkpoint. */
export interface CandidateCheckpoint {
  candidate: number;
  status: CheckpointStatus;
  output?: Record<string, unknown>;
  error?: string;
  error_class?: "retryable" | "hard";
  error_reason?: string;
  started_at?: string;
  completed_at?: string;
}

export type Checkpoints = Record<string, Checkpoint>;

export interface ProgressEvent {
  step: number;
  step_name: string;
  /** Overall job progress, 0..100. */
  progress: number;
  /** Progress within the step, 0..100. */
  step_progress: number;
  message?: string;
  /** While queued: the job's place among the jobs waiting for the same runner (1 = next). Announced again when it changes. */
  queue_position?: number;
  /** Seconds until the job is expected to be done (queued: its place's wait and its run; a step's start: the remaining steps). */
  eta_seconds?: number;
  /** What eta_seconds rests on: recent runs of the steps, the documented defaults per step type, or both. */
  eta_basis?: "recent_runs" | "defaults" | "mixed";
  /** The candidate (1..n) this progress is of, when the step runs as candidates. */
  candidate?: number;
}

export interface CheckpointEvent {
  step: number;
  step_name: string;
  status: CheckpointStatus;
  output?: Record<string, unknown>;
  error?: string;
  error_class?: "retryable" | "hard";
  error_reason?: string;
  /** The candidate (1..n) this checkpoint is of, when the step runs as candidates; absent for the step's own. */
  candidate?: number;
  /** On the step's own completed checkpoint: the candidate picked, and by whom (a person, or auto_pick). */
  picked_candidate?: number;
  picked_by?: "user" | "auto";
}

export interface CompleteEvent {
  result: Record<string, unknown>;
}

export interface ErrorEvent {
  /** The job's status after the error: failed or canceled. */
  status: "failed" | "canceled";
  code: string;
  error: string;
  step?: number;
  step_name?: string;
}

export interface RetryScheduledEvent {
  step: number;
  step_name: string;
  reason: string;
  error: string;
  next_retry_at: string;
  retry_count: number;
  max_retries: number;
}

/** The job stopped to wait for a person: what it waits for, at which step, since and until when. */
export type AwaitingEvent = ApprovalAwaitingEvent | InputAwaitingEvent;

export interface ApprovalAwaitingEvent {
  status: "awaiting_approval";
  awaiting: "approval";
  /** The step that runs once approved. */
  step: number;
  step_name: string;
  /** The previous step's output: what the person approves. */
  output: Record<string, unknown>;
  since: string;
  /** When the wait times out (the job then fails with approval_timeout). */
  until: string;
}

/** A step's candidates are done: the job waits for a pick (POST /workflows/pick/<job_id>); no timeout. */
export interface InputAwaitingEvent {
  status: "awaiting_input";
  awaiting: "pick";
  /** The step whose candidates wait for a pick. */
  step: number;
  step_name: string;
  /** Each candidate with its status and output (the ones that failed carry their error instead). */
  candidates: CandidateCheckpoint[];
  since: string;
}

export interface JobEventPayloads {
  progress: ProgressEvent;
  checkpoint: CheckpointEvent;
  complete: CompleteEvent;
  error: ErrorEvent;
  retry_scheduled: RetryScheduledEvent;
  awaiting: AwaitingEvent;
}

export type JobEventType = keyof JobEventPayloads;
export const JOB_EVENT_TYPES: readonly JobEventType[] = ["progress", "checkpoint", "complete", "error", "retry_scheduled", "awaiting"];

export type JobEventInput = { [K in JobEventType]: { type: K; data: JobEventPayloads[K] } }[JobEventType];
