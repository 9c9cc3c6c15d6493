import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { StepRunner } from "@/lib/engine/step-runner";
import { remainingRun, type StepEstimate } from "@/lib/engine/queue-eta";
import type { EngineDeps, StepOutcome } from "@/lib/engine/types";
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
  /** The checkpoints of steps' candidates (1..n), by candidateKey. */
  candidateRows: Map<string, CheckpointRow>;
  runner: StepRunner;
  signal: AbortSignal;
  logger: Logger;
  /** Each step's expected seconds, when the engine has estimates: a step's start says what the run has left. */
  estimates?: StepEstimate[];
}

export function firstIncompleteStep(stepCount: number, checkpoints: Map<number, CheckpointRow>): number {
  for (let index = 0; index < stepCount; index++) if (checkpoints.get(index)?.status !== "completed") return index;
  return stepCount;
}

/** Whether the job must stop before this step until a person approves it (and has not yet). */
export function needsApproval(run: Pick<Run, "job">, index: number): boolean {
  return run.job.approvalSteps.includes(index) && (run.job.approvedStep ?? -1) < index;
}

/** How many candidates the step runs for this job (1: it runs once). */
export function candidateCount(run: Pick<Run, "job">, index: number): number {
  return run.job.candidates.steps[index] ?? 1;
}

export function candidateKey(index: number, candidate: number): string {
  return `${index}:${candidate}`;
}

/**
 * Whether a step's start may be committed with the previous step's end: not when the job stops
 * before it for an approval, nor when it runs as candidates (each candidate starts on its own).
 */
export function startsDirectly(run: Pick<Run, "job">, index: number): boolean {
  return !needsApproval(run, index) && candidateCount(run, index) <= 1;
}

/** How long a job waits for an approval before it fails with approval_timeout. */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 24 * 3600;

/**
 * The run stops before `index`: awaiting_approval with the previous step's output in the event,
 * the lease released in the same commit. Nothing runs and no attempt is spent until a person decides.
 */
export async function awaitApproval(run: Run, index: number, previous: Record<string, unknown>): Promise<Exclude<StepOutcome, { status: "completed" }>> {
  const { deps, workflow, job } = run;
  const step = workflow.config.steps[index]!;
  const since = new Date();
  const until = new Date(since.getTime() + (workflow.config.approval_timeout_seconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS) * 1000);
  const waiting = await deps.store.awaitApproval(run.fence, {
    jobId: job.jobId,
    stepIndex: index,
    since,
    until,
    event: {
      type: "awaiting",
      data: { status: "awaiting_approval", awaiting: "approval", step: index, step_name: step.name, output: previous, since: since.toISOString(), until: until.toISOString() },
    },
  });
  deps.notifier.notify(job.jobId);
  if (!waiting) return { status: "stopped", why: "job changed state or was taken over" };
  run.logger.info("waiting for approval", { step: index, until: until.toISOString() });
  return { status: "awaiting_approval", stepIndex: index, until: until.toISOString() };
}

export function overallProgress(stepIndex: number, stepCount: number, stepPercent: number): number {
  return Math.min(100, Math.floor(((stepIndex + stepPercent / 100) / stepCount) * 100));
}

/** A step's start (or one candidate's): its running checkpoint (kept in the run's map too), the job's progress and a progress event. */
export function stepStart(run: Run, index: number, candidate = 0): StepStart {
  const step = run.workflow.config.steps[index]!;
  const startedAt = new Date();
  const saved = candidate === 0 ? run.checkpoints.get(index) : run.candidateRows.get(candidateKey(index, candidate));
  const row: CheckpointRow = {
    stepIndex: index,
    candidate,
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
  };
  if (candidate === 0) run.checkpoints.set(index, row);
  else run.candidateRows.set(candidateKey(index, candidate), row);
  const progress = overallProgress(index, run.workflow.config.steps.length, 0);
  const eta = run.estimates && remainingRun(run.estimates, index);
  const event: JobEventInput = {
    type: "progress",
    data: {
      step: index,
      step_name: step.name,
      progress,
      step_progress: 0,
      message: candidate === 0 ? step.label : `${step.label} (candidate ${candidate})`,
      ...(candidate > 0 && { candidate }),
      ...(eta && { eta_seconds: eta.seconds, eta_basis: eta.basis }),
    },
  };
  return { jobId: run.job.jobId, stepIndex: index, candidate, attempt: run.attempt, startedAt, progress, event };
}
