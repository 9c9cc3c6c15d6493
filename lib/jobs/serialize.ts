import type { z } from "zod";
import type { executionSchema, jobSchema } from "@/lib/api/schemas";
import type { JobStatus } from "@/lib/contract/events";
import { countAttempts } from "@/lib/jobs/attempts";

interface JobRow {
  id: string;
  workflowId: string;
  status: string;
  progress: number;
  inputs: unknown;
  result: unknown;
  error: string | null;
  errorCode: string | null;
  nextRetryAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  upload?: { filename: string; contentType: string; size: number; width: number; height: number } | null;
  /** For `attempts`, counted by the one rule (lib/jobs/attempts.ts). */
  execution: { retryCount: number; maxRetries: number } | null;
}

export function jobToJson(job: JobRow): z.infer<typeof jobSchema> {
  return {
    id: job.id,
    workflow_id: job.workflowId,
    status: job.status as JobStatus,
    progress: job.progress,
    inputs: (job.inputs ?? {}) as Record<string, string>,
    result: (job.result ?? null) as Record<string, unknown> | null,
    error: job.error,
    error_code: job.errorCode,
    attempts: job.execution ? countAttempts({ status: job.status as JobStatus, retryCount: job.execution.retryCount, maxRetries: job.execution.maxRetries }).made : 0,
    next_retry_at: job.nextRetryAt?.toISOString() ?? null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    completed_at: job.completedAt?.toISOString() ?? null,
    input_file: job.upload
      ? { filename: job.upload.filename, content_type: job.upload.contentType, size: job.upload.size, width: job.upload.width, height: job.upload.height }
      : null,
  };
}

interface ExecutionRow {
  id: string;
  jobId: string;
  workflowId: string;
  currentStep: number;
  retryCount: number;
  maxRetries: number;
  lastError: string | null;
  lastErrorClass: string | null;
  lastErrorReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function executionToJson(execution: ExecutionRow): z.infer<typeof executionSchema> {
  return {
    id: execution.id,
    job_id: execution.jobId,
    workflow_id: execution.workflowId,
    current_step: execution.currentStep,
    retry_count: execution.retryCount,
    max_retries: execution.maxRetries,
    last_error: execution.lastError,
    last_error_class: execution.lastErrorClass,
    last_error_reason: execution.lastErrorReason,
    created_at: execution.createdAt.toISOString(),
    updated_at: execution.updatedAt.toISOString(),
  };
}
