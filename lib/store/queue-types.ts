/**
 * What the place in line, the ETA and the timeline read (lib/engine/queue-estimates.ts,
 * lib/jobs/timeline.ts): kept apart from lib/store/types.ts, which re-exports them.
 */

/** A job waiting for a runner, as an announcement of its place needs it. */
export interface WaitingJob {
  id: string;
  userId: string;
  workflowId: string;
  status: string;
  /** The step it runs (or resumes) from, and its overall progress (a rerun or a retry starts past 0). */
  currentStep: number;
  progress: number;
}

/** One completed run of a step: how long it took, from its checkpoint's started_at to completed_at. */
export interface StepDuration {
  stepIndex: number;
  ms: number;
}

/** A job event that marks a change of state, with when it was written (the timeline's raw material). */
export interface TimelineEvent {
  id: number;
  type: string;
  data: Record<string, unknown>;
  at: Date;
}
