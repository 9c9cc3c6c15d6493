import "server-only";

// The store's spending records and the budget guard of its writes (re-exported by lib/store/types.ts).

/**
 * A user's monthly budget a write must stay within: this month's spend, plus what the user's active
 * jobs (queued, running, parked) are still expected to spend, plus the new work's estimate.
 */
export interface BudgetGuard {
  limitMicros: number;
  /** The start of the month whose spend counts. */
  monthStart: Date;
}

export interface Spending {
  /** Charged since the given time. */
  spentMicros: number;
  /** Still expected of the active jobs: each one's estimate less what it has cost so far. */
  outstandingMicros: number;
}

export interface Charge {
  jobId: string;
  workflowId: string;
  stepIndex: number;
  candidate: number;
  costMicroUsd: number;
  chargedAt: Date;
}

const BUDGET_EXCEEDED = Symbol.for("montage.budget-exceeded");

/** A write refused by its budget guard; recognised by a brand (see docs/architecture.md). */
export class BudgetExceededError extends Error {
  override readonly name = "BudgetExceededError";
  readonly [BUDGET_EXCEEDED] = true;
  constructor(
    readonly limitMicros: number,
    readonly committedMicros: number,
    readonly requestedMicros: number,
  ) {
    super("The monthly budget would be exceeded");
  }
}

export function isBudgetExceeded(error: unknown): error is BudgetExceededError {
  return typeof error === "object" && error !== null && (error as { [BUDGET_EXCEEDED]?: unknown })[BUDGET_EXCEEDED] === true;
}
