import "server-only";
import type { z } from "zod";
import type { executionDetailsResponseSchema, executionSchema, jobSchema, rerunSummarySchema } from "@/lib/api/schemas";
import type { JobStatus } from "@/lib/contract/events";
import { countAttempts } from "@/lib/jobs/attempts";
import { stepCheckpoint } from "@/lib/store/checkpoints";
import type { ExecutionRecord, JobRecord, JobSummary, RerunSummary } from "@/lib/store/types";
import type { StepConfig } from "@/lib/workflows/definition";
import { toUsd } from "@/lib/workflows/pricing";

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
    awaiting: awaitingToJson(job),
    candidates: { steps: candidateStepsByName(job), auto_pick: job.candidates.autoPick },
    estimated_cost_usd: toUsd(job.estimate.micros),
    actual_cost_usd: toUsd(job.actualMicroUsd),
    models: job.models,
    deadline_at: job.deadlineAt?.toISOString() ?? null,
  };
}

function awaitingToJson(job: JobSummary): z.infer<typeof jobSchema>["awaiting"] {
  if (job.status === "awaiting_approval" && job.awaitingSince && job.awaitingUntil) return { kind: "approval", since: job.awaitingSince.toISOString(), until: job.awaitingUntil.toISOString() };
  if (job.status === "awaiting_input" && job.awaitingSince) return { kind: "pick", since: job.awaitingSince.toISOString(), until: null };
  return null;
}

/** The job's candidate counts by step index (as a string key, like the checkpoints'). */
function candidateStepsByName(job: JobSummary): Record<string, number> {
  return Object.fromEntries(Object.entries(job.candidates.steps).map(([index, count]) => [String(index), count]));
}

export function rerunToJson(rerun: RerunSummary): z.infer<typeof rerunSummarySchema> {
  return { job_id: rerun.id, status: rerun.status as JobStatus, rerun_from_step: rerun.rerunFromStep, created_at: rerun.createdAt.toISOString() };
}

/**
 * The workflow's steps as the execution details show them, with each step's estimated and actual
 * cost: actual is null until the step completed (or when its price is unknown), 0 when it failed.
 */
export function stepsToJson(job: JobRecord, steps: readonly Pick<StepConfig, "name" | "type" | "label">[]): z.infer<typeof executionDetailsResponseSchema>["steps"] {
  return steps.map(({ name, type, label }, index) => {
    const estimated = job.estimate.steps[index];
    const checkpoint = stepCheckpoint(job.checkpoints, index);
    let actual = checkpoint && checkpoint.status !== "running" ? checkpoint.costMicroUsd : null;
    // A step run as candidates cost what its candidates cost (the pick itself costs nothing).
    const candidates = job.checkpoints.filter((row) => row.stepIndex === index && row.candidate > 0 && row.status !== "running");
    if (candidates.length > 0) actual = candidates.some((row) => row.costMicroUsd === null) ? null : candidates.reduce((sum, row) => sum + (row.costMicroUsd ?? 0), 0);
    return {
      name,
      type,
      label,
      estimated_usd: estimated === null || estimated === undefined ? null : toUsd(estimated),
      actual_usd: actual === null ? null : toUsd(actual),
      provider_seconds: checkpoint?.providerMs === null || checkpoint?.providerMs === undefined ? null : checkpoint.providerMs / 1000,
    };
  });
}

export function costToJson(job: JobSummary): z.infer<typeof executionDetailsResponseSchema>["cost"] {
  return { currency: "USD", estimated_usd: toUsd(job.estimate.micros), actual_usd: toUsd(job.actualMicroUsd) };
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
