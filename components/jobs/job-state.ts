import type { CandidateCheckpoint, Checkpoint, JobEventPayloads, JobEventType, JobStatus } from "@/lib/contract/events";
import type { ExecutionDetails } from "@/components/api/types";
import { countAttempts, type Attempts } from "@/lib/jobs/attempts";

/**
 * What the step tracker shows, derived either from a snapshot (GET /workflows/execution/<id>) or by
 * folding the job's SSE events in order. The event log is complete from the job's creation (the
 * stream replays it from the start on first connect, then from Last-Event-ID), so the folded state
 * is the truth once events arrive; the snapshot covers the moments before.
 */

export type StepStatus = "pending" | "running" | "completed" | "parked" | "failed" | "canceled";

export interface StepView {
  status: StepStatus;
  /** 0..100 within the step. */
  progress: number;
  message?: string;
  output?: Record<string, unknown>;
  error?: string;
  reason?: string;
}

export interface JobView {
  status: JobStatus;
  /** 0..100 across the workflow. */
  progress: number;
  /** By step index. Steps without an entry are pending. */
  steps: Record<number, StepView>;
  /** Index of the step last reported on. */
  currentStep: number;
  nextRetryAt: string | null;
  retryCount: number | null;
  maxRetries: number | null;
  result: Record<string, unknown> | null;
  error: string | null;
  errorCode: string | null;
  /** While awaiting_approval: the step that waits, since and until when, and the output to approve. */
  awaiting: { step: number; since: string; until: string; output: Record<string, unknown> } | null;
  /** While awaiting_input: the step whose candidates wait for a pick, since when, and the candidates. */
  picking: { step: number; since: string; candidates: CandidateCheckpoint[] } | null;
  /** Candidates by step index, as they start and finish (steps run as candidates only). */
  candidates: Record<number, Record<number, CandidateView>>;
  /** Id of the last event folded in; 0 for a snapshot. */
  lastEventId: number;
  /** While queued: the place in line last announced (1 = next); null when none was. */
  queuePosition: number | null;
  /** Seconds to done as last announced (a queued job's place, a step's start); null when none was. */
  etaSeconds: number | null;
}

export interface CandidateView {
  status: StepStatus;
  progress: number;
  output?: Record<string, unknown>;
  error?: string;
}

export type JobEvent = { [K in JobEventType]: { id: number; type: K; data: JobEventPayloads[K] } }[JobEventType];

export const emptyJobView: JobView = {
  status: "queued",
  progress: 0,
  steps: {},
  currentStep: 0,
  nextRetryAt: null,
  retryCount: null,
  maxRetries: null,
  result: null,
  error: null,
  errorCode: null,
  awaiting: null,
  picking: null,
  candidates: {},
  lastEventId: 0,
  queuePosition: null,
  etaSeconds: null,
};

function checkpointStatus(checkpoint: Checkpoint, jobStatus: JobStatus): StepStatus {
  switch (checkpoint.status) {
    case "completed":
      return "completed";
    case "failed":
      return "failed";
    case "canceled":
      return "canceled";
    case "failed_retryable":
      if (jobStatus === "pending_retry") return "parked";
      return jobStatus === "failed" ? "failed" : jobStatus === "canceled" ? "canceled" : "pending";
    case "running":
      if (jobStatus === "running") return "running";
      return jobStatus === "canceled" ? "canceled" : jobStatus === "failed" ? "failed" : "pending";
  }
}

/** The view a snapshot implies (used until the stream's replay has been folded in). */
export function jobViewFromSnapshot(details: ExecutionDetails): JobView {
  const { job, execution, checkpoints } = details;
  const stepCount = Math.max(1, details.steps.length);
  const steps: Record<number, StepView> = {};
  for (const [key, checkpoint] of Object.entries(checkpoints)) {
    const index = Number(key);
    const status = checkpointStatus(checkpoint, job.status);
    // Overall progress = (index + step%/100) / stepCount: invert it for the running step.
    const inferred = Math.round(Math.min(100, Math.max(0, (job.progress / 100) * stepCount - index) * 100));
    steps[index] = {
      status,
      progress: status === "completed" ? 100 : status === "running" ? inferred : 0,
      ...(checkpoint.output && { output: checkpoint.output }),
      ...(checkpoint.error && { error: checkpoint.error }),
      ...(checkpoint.error_reason && { reason: checkpoint.error_reason }),
    };
  }
  return {
    status: job.status,
    progress: job.progress,
    steps,
    currentStep: Math.min(execution.current_step, stepCount - 1),
    nextRetryAt: job.next_retry_at,
    retryCount: execution.retry_count,
    maxRetries: execution.max_retries,
    result: job.result,
    error: job.error,
    errorCode: job.error_code,
    awaiting:
      job.awaiting && job.awaiting.kind === "approval" && job.awaiting.until
        ? { step: execution.current_step, since: job.awaiting.since, until: job.awaiting.until, output: checkpoints[String(execution.current_step - 1)]?.output ?? {} }
        : null,
    picking:
      job.awaiting && job.awaiting.kind === "pick"
        ? { step: execution.current_step, since: job.awaiting.since, candidates: checkpoints[String(execution.current_step)]?.candidates ?? [] }
        : null,
    candidates: candidatesFromCheckpoints(checkpoints, job.status),
    lastEventId: 0,
    queuePosition: details.queue_position ?? null,
    etaSeconds: details.eta_seconds ?? null,
  };
}

function candidatesFromCheckpoints(checkpoints: Record<string, Checkpoint>, jobStatus: JobStatus): Record<number, Record<number, CandidateView>> {
  const views: Record<number, Record<number, CandidateView>> = {};
  for (const [key, checkpoint] of Object.entries(checkpoints)) {
    if (!checkpoint.candidates) continue;
    views[Number(key)] = Object.fromEntries(
      checkpoint.candidates.map((candidate) => {
        const status = checkpointStatus(candidate, jobStatus);
        return [candidate.candidate, { status, progress: status === "completed" ? 100 : 0, ...(candidate.output && { output: candidate.output }), ...(candidate.error && { error: candidate.error }) }];
      }),
    );
  }
  return views;
}

function withCandidate(view: JobView, step: number, candidate: number, patch: Partial<CandidateView> & { status: StepStatus }): JobView["candidates"] {
  const ofStep = view.candidates[step] ?? {};
  return { ...view.candidates, [step]: { ...ofStep, [candidate]: { progress: 0, ...ofStep[candidate], ...patch } } };
}

function withStep(view: JobView, index: number, patch: Partial<StepView> & { status: StepStatus }): Record<number, StepView> {
  const previous = view.steps[index];
  return { ...view.steps, [index]: { progress: 0, ...previous, ...patch } };
}

/** Folds one event in. Events at or below `lastEventId` (a replay overlapping what was seen) are ignored. */
export function applyJobEvent(view: JobView, event: JobEvent): JobView {
  if (event.id <= view.lastEventId) return view;
  const next = { ...view, lastEventId: event.id };
  switch (event.type) {
    case "progress": {
      const { step, progress, step_progress, message, queue_position, eta_seconds, candidate } = event.data;
      const previous = view.steps[step];
      const manualRetry = message === "Retry requested";
      const sameStep = view.status === "running" && view.currentStep === step;
      if (candidate !== undefined) {
        // One candidate's progress: the candidate moves, the step runs.
        return {
          ...next,
          status: "running",
          progress,
          currentStep: step,
          queuePosition: null,
          etaSeconds: eta_seconds ?? (sameStep ? view.etaSeconds : null),
          nextRetryAt: null,
          error: null,
          errorCode: null,
          awaiting: null,
          picking: null,
          candidates: withCandidate(view, step, candidate, { status: "running", progress: step_progress }),
          steps: withStep(view, step, { status: "running", progress: previous?.progress ?? 0, message: "Running candidates side by side", error: undefined, reason: undefined }),
        };
      }
      return {
        ...next,
        // A place is announced while queued; a step's start may say how long the rest takes, and its reports keep that.
        queuePosition: queue_position ?? null,
        etaSeconds: eta_seconds ?? (sameStep ? view.etaSeconds : null),
        // The first event of a job or of a retry has step_progress 0 before anything runs.
        status: message === "Queued" || manualRetry ? "queued" : "running",
        // A manual retry starts a fresh series of attempts (lib/jobs/attempts.ts).
        ...(manualRetry && { retryCount: 0 }),
        progress,
        currentStep: step,
        nextRetryAt: null,
        error: null,
        errorCode: null,
        awaiting: null,
        picking: null,
        steps: withStep(view, step, {
          status: "running",
          progress: step_progress,
          ...(message !== undefined ? { message } : previous?.status === "running" ? {} : { message: undefined }),
          error: undefined,
          reason: undefined,
        }),
      };
    }
    case "checkpoint": {
      const { step, status, output, error, error_reason, candidate } = event.data;
      const stepStatus: StepStatus =
        status === "completed" ? "completed" : status === "failed_retryable" ? "parked" : status === "running" ? "running" : status;
      if (candidate !== undefined) {
        return {
          ...next,
          currentStep: step,
          candidates: withCandidate(view, step, candidate, { status: stepStatus, ...(status === "completed" && { progress: 100 }), ...(output && { output }), ...(error !== undefined && { error }) }),
        };
      }
      return {
        ...next,
        picking: view.picking?.step === step ? null : view.picking,
        currentStep: step,
        steps: withStep(view, step, {
          status: stepStatus,
          ...(status === "completed" && { progress: 100, message: undefined }),
          ...(output && { output }),
          ...(error !== undefined && { error }),
          ...(error_reason !== undefined && { reason: error_reason }),
        }),
      };
    }
    case "retry_scheduled": {
      const { step, reason, error, next_retry_at, retry_count, max_retries } = event.data;
      return {
        ...next,
        queuePosition: null,
        etaSeconds: null,
        status: "pending_retry",
        currentStep: step,
        nextRetryAt: next_retry_at,
        retryCount: retry_count,
        maxRetries: max_retries,
        error,
        errorCode: reason,
        steps: withStep(view, step, { status: "parked", error, reason }),
      };
    }
    case "awaiting": {
      if (event.data.status === "awaiting_input") {
        const { step, since, candidates } = event.data;
        return { ...next, status: "awaiting_input", currentStep: step, picking: { step, since, candidates }, error: null, errorCode: null, nextRetryAt: null };
      }
      const { step, since, until, output } = event.data;
      return { ...next, queuePosition: null, etaSeconds: null, status: "awaiting_approval", currentStep: step, awaiting: { step, since, until, output }, error: null, errorCode: null, nextRetryAt: null };
    }
    case "complete":
      return { ...next, queuePosition: null, etaSeconds: null, status: "completed", progress: 100, result: event.data.result, error: null, errorCode: null, nextRetryAt: null };
    case "error": {
      const { status, code, error, step } = event.data;
      const index = step ?? view.currentStep;
      const current = view.steps[index];
      const stepEnded = current?.status === "completed" || current === undefined || current.status === "pending";
      return {
        ...next,
        queuePosition: null,
        etaSeconds: null,
        status,
        error,
        errorCode: code,
        nextRetryAt: null,
        awaiting: null,
        steps: stepEnded && step === undefined ? view.steps : withStep(view, index, { status: status === "canceled" ? "canceled" : "failed", error }),
      };
    }
  }
}

export function isActiveStatus(status: JobStatus): boolean {
  return status === "queued" || status === "running" || status === "pending_retry" || status === "awaiting_approval" || status === "awaiting_input";
}

export function stepView(view: JobView, index: number): StepView {
  return view.steps[index] ?? { status: "pending", progress: 0 };
}

/**
 * The run's attempts by the one rule (lib/jobs/attempts.ts). The live view knows the count once a
 * retry was scheduled; before that it is 0, and the limit is the snapshot's.
 */
export function viewAttempts(view: JobView, snapshot: ExecutionDetails): Attempts {
  return countAttempts({
    status: view.status,
    retryCount: view.retryCount ?? snapshot.execution.retry_count,
    maxAttempts: view.maxRetries ?? snapshot.execution.max_retries,
  });
}

/** 1st, 2nd, 3rd, 4th, 11th, 21st, ... */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" } as Record<number, string>)[n % 10] ?? "th";
  return `${n}${suffix}`;
}

/** An ETA as a person reads it: "about 40 s", "about 3 min", "about 1 h 5 min". */
export function formatEta(seconds: number): string {
  if (seconds < 60) return `about ${Math.max(1, Math.round(seconds))} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `about ${minutes} min`;
  return `about ${Math.floor(minutes / 60)} h${minutes % 60 > 0 ? ` ${minutes % 60} min` : ""}`;
}

/** A queued run's place and ETA: "3rd in line · about 40 s"; null when neither is known. */
export function queueText(position: number | null, etaSeconds: number | null): string | null {
  const parts = [position !== null ? `${ordinal(position)} in line` : null, etaSeconds !== null ? formatEta(etaSeconds) : null].filter((part) => part !== null);
  return parts.length > 0 ? parts.join(" · ") : null;
}

/**
 * The place and ETA to show: the stream's when it announced them, else the snapshot's while it
 * describes the same state (the snapshot is refetched at every step's end, so a running ETA counts down by step).
 */
export function viewQueue(view: JobView, snapshot: ExecutionDetails): { position: number | null; etaSeconds: number | null } {
  const same = snapshot.job.status === view.status && (view.status !== "running" || snapshot.execution.current_step === view.currentStep);
  return {
    position: view.status !== "queued" ? null : (view.queuePosition ?? (same ? snapshot.queue_position : null)),
    etaSeconds: view.status !== "queued" && view.status !== "running" ? null : (view.etaSeconds ?? (same ? snapshot.eta_seconds : null)),
  };
}
