import { FairQueue } from "@/lib/engine/fair-queue";

/**
 * Groundwork for issue 14 part 4 (place in line and ETA): pure arithmetic, not yet used by any
 * route, event or page. The store query that feeds it and the fields that show it are still to
 * build (see the issue-14b report).
 */

/** Seconds assumed for a step no run has completed yet (no durations to take a median of). */
export const UNKNOWN_STEP_SECONDS = 30;

export interface WaitingJob {
  jobId: string;
  userId: string;
}

/**
 * A waiting job's place (1 = next) in the order the in-process runner serves users in turn
 * (lib/engine/fair-queue.ts), from the waiting jobs in the order they were queued. Undefined
 * when the job is not among them.
 */
export function placeInLine(waiting: readonly WaitingJob[], jobId: string): number | undefined {
  const queue = new FairQueue();
  for (const job of waiting) queue.push(job.userId, job.jobId);
  for (let place = 1; ; place += 1) {
    const next = queue.take(() => true);
    if (!next) return undefined;
    if (next.jobId === jobId) return place;
  }
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
