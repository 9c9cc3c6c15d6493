/**
 * The progress-event contract: SSE event names and payloads, defined once and imported by the
 * server that writes them (the engine, into the job event log) and the client that reads them.
 */

export const JOB_STATUSES = ["queued", "running", "pending_retry", "awaiting_approval", "completed", "failed", "canceled"] as const;
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
}

export interface CheckpointEvent {
  step: number;
  step_name: string;
  status: CheckpointStatus;
  output?: Record<string, unknown>;
  error?: string;
  error_class?: "retryable" | "hard";
  error_reason?: string;
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
export interface AwaitingEvent {
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
