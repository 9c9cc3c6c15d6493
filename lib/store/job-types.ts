import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { BudgetGuard } from "@/lib/store/spending-types";
import type { CheckpointRow, JobCandidates, JobEstimate } from "@/lib/store/run-types";

// A job as it is inserted and read back, its uploads, events and wake-ups (re-exported by lib/store/types.ts).

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
