import { FairQueue } from "@/lib/engine/fair-queue";
import type { StepDuration } from "@/lib/store/types";

/**
 * The place in line and ETA arithmetic (issue 14 part 4), pure: lib/engine/queue-estimates.ts
 * feeds it the store's recent step durations and the runner's line.
 *
 * A step's expected time is the median of its last RECENT_RUNS completed runs (this workflow, this
 * step index). A step no run has completed yet is expected to take its type's documented default
 * (DEFAULT_STEP_SECONDS, UNKNOWN_STEP_SECONDS for other types), and the answer says so in
 * `eta_basis`: "recent_runs" (every step from history), "defaults" (none) or "mixed".
 */

/** Completed runs per step whose median is a step's expected time. */
export const RECENT_RUNS = 50;

/** Seconds assumed for a step of a type without a default below, when no run of it has completed. */
export const UNKNOWN_STEP_SECONDS = 30;

/** Seconds assumed per step type when no run of the step has completed: an upload is quick, a model run is not. */
export const DEFAULT_STEP_SECONDS: Readonly<Record<string, number>> = { input: 2, generation: 30 };

export type EtaBasis = "recent_runs" | "defaults" | "mixed";

export interface StepEstimate {
  seconds: number;
  /** True when `seconds` is the median of recorded runs, false when it is the type's default. */
  fromRuns: boolean;
}

export interface Eta {
  seconds: number;
  basis: EtaBasis;
}

export interface WaitingJob {
  jobId: string;
  userId: string;
}

/**
 * A waiting job's place (1 = next) in the order the in-process runner serves users in turn
 * (lib/engine/fair-queue.ts), from the waiting jobs in the order they were queued, when no user has
 * had a turn yet. Undefined when the job is not among them. (The runner itself answers from its
 * live line, FairQueue.order, which also knows whose turn was last.)
 */
export function placeInLine(waiting: readonly WaitingJob[], jobId: string): number | undefined {
  const queue = new FairQueue();
  for (const job of waiting) queue.push(job.userId, job.jobId);
  const place = queue.order().findIndex((entry) => entry.jobId === jobId);
  return place < 0 ? undefined : place + 1;
}

/** The median of the given durations, or undefined when there are none. */
export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/** Seconds the steps from `fromStep` on take, each its median (UNKNOWN_STEP_SECONDS when it has none). */
export function remainingRunSeconds(stepMedians: readonly (number | undefined)[], fromStep: number): number {
  return stepMedians.slice(fromStep).reduce<number>((total, seconds) => total + (seconds ?? UNKNOWN_STEP_SECONDS), 0);
}

/**
 * Seconds until a waiting job is done: the runs ahead of it take their turns `concurrency` at a
 * time, each as long as this workflow's run, then its own run.
 */
export function queuedEtaSeconds(place: number, concurrency: number, runSeconds: number): number {
  const roundsAhead = Math.ceil(place / Math.max(1, concurrency));
  return Math.round(roundsAhead * runSeconds + runSeconds);
}

export function defaultStepSeconds(type: string): number {
  return DEFAULT_STEP_SECONDS[type] ?? UNKNOWN_STEP_SECONDS;
}

/** Each step's expected seconds: the median of its recorded runs, else its type's default. */
export function stepEstimates(steps: readonly { type: string }[], durations: readonly StepDuration[]): StepEstimate[] {
  return steps.map((step, index) => {
    const seconds = median(durations.filter((run) => run.stepIndex === index).map((run) => run.ms / 1000));
    return seconds === undefined ? { seconds: defaultStepSeconds(step.type), fromRuns: false } : { seconds, fromRuns: true };
  });
}

/**
 * The seconds the steps from `fromStep` on still take: each its estimate, the first less the
 * `elapsedMs` it has already run (never below 0). The basis is that of the steps counted.
 */
export function remainingRun(estimates: readonly StepEstimate[], fromStep: number, elapsedMs = 0): Eta {
  const counted = estimates.slice(fromStep);
  const seconds = counted.reduce((total, step, index) => total + (index === 0 ? Math.max(0, step.seconds - elapsedMs / 1000) : step.seconds), 0);
  return { seconds: Math.round(seconds), basis: basisOf(counted) };
}

function basisOf(steps: readonly StepEstimate[]): EtaBasis {
  const fromRuns = steps.filter((step) => step.fromRuns).length;
  if (fromRuns === steps.length) return "recent_runs";
  return fromRuns === 0 ? "defaults" : "mixed";
}
