import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { StepRunner } from "@/lib/engine/step-runner";
import type { EngineDeps } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";
import type { CheckpointRow, Fence, RunSnapshot, StepStart } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

/** One run of a job: what every step of it shares. */
export interface Run {
  deps: EngineDeps;
  workflow: Workflow;
  job: RunSnapshot;
  fence: Fence;
  /** The run's attempt number (jobs.attempts once the run has begun). */
  attempt: number;
  /** The job's checkpoints by step index (candidate 0), kept up to date as the run commits. */
  checkpoints: Map<number, CheckpointRow>;
  runner: StepRunner;
  signal: AbortSignal;
  logger: Logger;
}

export function firstIncompleteStep(stepCount: number, checkpoints: Map<number, CheckpointRow>): number {
  for (let index = 0; index < stepCount; index++) if (checkpoints.get(index)?.status !== "completed") return index;
  return stepCount;
}

export function overallProgress(stepIndex: number, stepCount: number, stepPercent: number): number {
  return Math.min(100, Math.floor(((stepIndex + stepPercent / 100) / stepCount) * 100));
}

/** A step's start: its running checkpoint (kept in the run's map too), the job's progress and a progress event. */
export function stepStart(run: Run, index: number): StepStart {
  const step = run.workflow.config.steps[index]!;
  const startedAt = new Date();
  const saved = run.checkpoints.get(index);
  run.checkpoints.set(index, {
    stepIndex: index,
    candidate: 0,
    status: "running",
    output: null,
    error: null,
    errorClass: null,
    errorReason: null,
    state: saved?.state ?? null,
    attempt: run.attempt,
    startedAt,
    completedAt: null,
    costMicroUsd: null,
    providerMs: null,
  });
  const progress = overallProgress(index, run.workflow.config.steps.length, 0);
  const event: JobEventInput = { type: "progress", data: { step: index, step_name: step.name, progress, step_progress: 0, message: step.label } };
  return { jobId: run.job.jobId, stepIndex: index, candidate: 0, attempt: run.attempt, startedAt, progress, event };
}
