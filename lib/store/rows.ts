import "server-only";
import type { CheckpointStatus } from "@/lib/contract/events";
import type { CheckpointRow, ExecutionRecord, IdempotencyRecord, JobCandidates, JobState, JobSummary, QueuedJob, RerunSummary, RunSnapshot, UploadSummary } from "@/lib/store/types";

/**
 * Rows as either driver returns them, turned into the store's types. better-sqlite3 gives text for
 * times and JSON; pg gives Dates (parsed as UTC by the PostgreSQL store) and parsed JSON (or text
 * inside json_agg). Both arrive here and leave the same.
 */
type Row = Record<string, unknown>;

/** A column's value as text: drivers give strings and numbers; anything else is shown as JSON. */
function asText(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

export function toDate(value: unknown): Date | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value;
  const text = asText(value);
  // Timestamps inside PostgreSQL's json_agg come without a zone; they are UTC.
  return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(text) ? text : `${text}Z`);
}

export function toJson<T>(value: unknown): T | null {
  if (value === null || value === undefined) return null;
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

const text = (value: unknown): string | null => (value === null || value === undefined ? null : asText(value));

export function checkpointFromRow(row: Row): CheckpointRow {
  return {
    stepIndex: Number(row.step_index),
    candidate: Number(row.candidate),
    status: asText(row.status) as CheckpointStatus,
    output: toJson(row.output),
    error: text(row.error),
    errorClass: text(row.error_class) as CheckpointRow["errorClass"],
    errorReason: text(row.error_reason),
    state: toJson(row.state),
    attempt: Number(row.attempt),
    startedAt: toDate(row.started_at),
    completedAt: toDate(row.completed_at),
    costMicroUsd: row.cost_micro_usd === null || row.cost_micro_usd === undefined ? null : Number(row.cost_micro_usd),
    providerMs: row.provider_ms === null || row.provider_ms === undefined ? null : Number(row.provider_ms),
  };
}

/** The job columns every job read selects, from `jobs j` and `workflow_executions e` (and the upload's summary from `uploads u`). */
export const JOB_SELECT =
  "j.id, j.user_id, j.workflow_id, j.workflow_version, j.status, j.progress, j.inputs, j.result, j.error, j.error_code, j.attempts, e.retry_count, e.max_attempts, j.next_retry_at, j.created_at, j.updated_at, j.completed_at, j.parent_job_id, j.rerun_from_step, j.approval_steps, j.awaiting_since, j.awaiting_until, j.candidates, u.filename AS upload_filename, u.content_type AS upload_content_type, u.size AS upload_size, u.width AS upload_width, u.height AS upload_height, j.estimated_micro_usd, j.cost_estimate, j.models, j.deadline_at, (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c WHERE c.job_id = j.id) AS actual_micro_usd";

export function jobFromRow(row: Row): JobSummary {
  const upload: UploadSummary | null =
    row.upload_filename === null || row.upload_filename === undefined
      ? null
      : {
          filename: asText(row.upload_filename),
          contentType: asText(row.upload_content_type),
          size: Number(row.upload_size),
          width: Number(row.upload_width),
          height: Number(row.upload_height),
        };
  return {
    id: asText(row.id),
    userId: asText(row.user_id),
    workflowId: asText(row.workflow_id),
    workflowVersion: text(row.workflow_version),
    status: asText(row.status),
    progress: Number(row.progress),
    inputs: toJson<Record<string, string>>(row.inputs) ?? {},
    result: toJson(row.result),
    error: text(row.error),
    errorCode: text(row.error_code),
    attempts: Number(row.attempts),
    retryCount: Number(row.retry_count),
    maxAttempts: Number(row.max_attempts),
    nextRetryAt: toDate(row.next_retry_at),
    createdAt: toDate(row.created_at)!,
    updatedAt: toDate(row.updated_at)!,
    completedAt: toDate(row.completed_at),
    upload,
    parentJobId: text(row.parent_job_id),
    rerunFromStep: row.rerun_from_step === null || row.rerun_from_step === undefined ? null : Number(row.rerun_from_step),
    approvalSteps: toJson<number[]>(row.approval_steps) ?? [],
    awaitingSince: toDate(row.awaiting_since),
    awaitingUntil: toDate(row.awaiting_until),
    candidates: candidatesFromRow(row.candidates),
    estimate: { micros: Number(row.estimated_micro_usd ?? 0), steps: toJson<(number | null)[]>(row.cost_estimate) ?? [] },
    actualMicroUsd: Number(row.actual_micro_usd ?? 0),
    models: toJson<Record<string, string>>(row.models) ?? {},
    deadlineAt: toDate(row.deadline_at),
  };
}

export function rerunFromRow(row: Row): RerunSummary {
  return { id: asText(row.id), status: asText(row.status), rerunFromStep: Number(row.rerun_from_step), createdAt: toDate(row.created_at)! };
}

/** The execution columns of a job read, from `workflow_executions e`, prefixed `e_`. */
export const EXECUTION_SELECT =
  "e.id AS e_id, e.current_step AS e_current_step, e.retry_count AS e_retry_count, e.max_attempts AS e_max_attempts, e.last_error AS e_last_error, e.last_error_class AS e_last_error_class, e.last_error_reason AS e_last_error_reason, e.last_error_provider AS e_last_error_provider, e.created_at AS e_created_at, e.updated_at AS e_updated_at";

export function executionFromRow(row: Row): ExecutionRecord {
  return {
    id: asText(row.e_id),
    jobId: asText(row.id),
    workflowId: asText(row.workflow_id),
    currentStep: Number(row.e_current_step),
    retryCount: Number(row.e_retry_count),
    maxAttempts: Number(row.e_max_attempts),
    lastError: text(row.e_last_error),
    lastErrorClass: text(row.e_last_error_class),
    lastErrorReason: text(row.e_last_error_reason),
    lastErrorProvider: text(row.e_last_error_provider),
    createdAt: toDate(row.e_created_at)!,
    updatedAt: toDate(row.e_updated_at)!,
  };
}

/** What a run reads under its lease: from `jobs j` and `workflow_executions e`. */
export const RUN_SELECT = "j.id, j.user_id, j.workflow_id, j.workflow_version, j.status, j.inputs, j.attempts, j.approval_steps, j.approved_step, j.candidates, j.models, e.retry_count, e.max_attempts, j.deadline_at";

export function runFromRow(row: Row, checkpoints: CheckpointRow[]): RunSnapshot {
  return {
    jobId: asText(row.id),
    userId: asText(row.user_id),
    workflowId: asText(row.workflow_id),
    workflowVersion: text(row.workflow_version),
    status: asText(row.status),
    inputs: toJson<Record<string, string>>(row.inputs) ?? {},
    attempts: Number(row.attempts),
    retryCount: Number(row.retry_count),
    maxAttempts: Number(row.max_attempts),
    approvalSteps: toJson<number[]>(row.approval_steps) ?? [],
    approvedStep: row.approved_step === null || row.approved_step === undefined ? null : Number(row.approved_step),
    models: toJson<Record<string, string>>(row.models) ?? {},
    candidates: candidatesFromRow(row.candidates),
    deadlineAt: toDate(row.deadline_at),
    checkpoints,
  };
}

export function queuedJobFromRow(row: Row): QueuedJob {
  return { id: asText(row.id), userId: asText(row.user_id), attempts: Number(row.attempts) };
}

export function jobStateFromRow(row: Row): JobState {
  return {
    status: asText(row.status),
    attempts: Number(row.attempts),
    result: toJson(row.result),
    error: text(row.error),
    errorCode: text(row.error_code),
    nextRetryAt: toDate(row.next_retry_at),
  };
}

export function idempotencyFromRow(row: Row): IdempotencyRecord {
  const status = row.response_status;
  return {
    key: asText(row.key),
    requestHash: asText(row.request_hash),
    jobId: text(row.job_id),
    response: status === null || status === undefined ? null : { status: Number(status), body: toJson(row.response_body) },
    createdAt: toDate(row.created_at)!,
    expiresAt: toDate(row.expires_at)!,
  };
}

/** jobs.candidates as stored: {"steps": {"<step index>": count}, "auto_pick": bool}; null when no step runs candidates. */
export function candidatesJson(candidates: JobCandidates): { steps: Record<string, number>; auto_pick: boolean } {
  return { steps: Object.fromEntries(Object.entries(candidates.steps)), auto_pick: candidates.autoPick };
}

export function candidatesFromRow(value: unknown): JobCandidates {
  const stored = toJson<{ steps?: Record<string, number>; auto_pick?: boolean }>(value);
  const steps: Record<number, number> = {};
  for (const [index, count] of Object.entries(stored?.steps ?? {})) if (Number(count) > 1) steps[Number(index)] = Number(count);
  return { steps, autoPick: stored?.auto_pick === true };
}
