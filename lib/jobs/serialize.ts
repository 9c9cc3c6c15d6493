import "server-only";
import type { z } from "zod";
import type { executionSchema, jobSchema, rerunSummarySchema } from "@/lib/api/schemas";
import type { JobStatus } from "@/lib/contract/events";
import { countAttempts } from "@/lib/jobs/attempts";
import type { ExecutionRecord, JobSummary, RerunSummary } from "@/lib/store/types";

export function jobToJson(job: JobSummary): z.infer<typeof jobSchema> {
  return {
    id: job.id,
    workflow_id: job.workflowId,
    workflow_version: job.workflowVersion,
    status: job.status as JobStatus,
    progress: job.progress,
    inputs: job.inputs,
    result: job.result,
    error: job.error,
    error_code: job.errorCode,
    // Attempts by the one rule (lib/jobs/attempts.ts), not the runs started (jobs.attempts).
    attempts: countAttempts({ status: job.status as JobStatus, retryCount: job.retryCount, maxAttempts: job.maxAttempts }).made,
    next_retry_at: job.nextRetryAt?.toISOString() ?? null,
    created_at: job.createdAt.toISOString(),
    updated_at: job.updatedAt.toISOString(),
    completed_at: job.completedAt?.toISOString() ?? null,
    input_file: job.upload
      ? { filename: job.upload.filename, content_type: job.upload.contentType, size: job.upload.size, width: job.upload.width, height: job.upload.height }
      : null,
    parent_job_id: job.parentJobId,
    rerun_from_step: job.rerunFromStep,
    approval_steps: job.approvalSteps,
    awaiting:
      job.status === "awaiting_approval" && job.awaitingSince && job.awaitingUntil
        ? { kind: "approval" as const, since: job.awaitingSince.toISOString(), until: job.awaitingUntil.toISOString() }
        : null,
  };
}

export function rerunToJson(rerun: RerunSummary): z.infer<typeof rerunSummarySchema> {
  return { job_id: rerun.id, status: rerun.status as JobStatus, rerun_from_step: rerun.rerunFromStep, created_at: rerun.createdAt.toISOString() };
}

export function executionToJson(execution: ExecutionRecord): z.infer<typeof executionSchema> {
  return {
    id: execution.id,
    job_id: execution.jobId,
    workflow_id: execution.workflowId,
    current_step: execution.currentStep,
    retry_count: execution.retryCount,
    // The API's name since the first version; it has always counted attempts.
    max_retries: execution.maxAttempts,
    last_error: execution.lastError,
    last_error_class: execution.lastErrorClass,
    last_error_reason: execution.lastErrorReason,
    created_at: execution.createdAt.toISOString(),
    updated_at: execution.updatedAt.toISOString(),
  };
}
