import "server-only";
import { ApiError } from "@/lib/api/errors";
import type { Config } from "@/lib/config";
import { isBudgetExceeded, type BudgetGuard, type Store } from "@/lib/store/types";
import { toMicros, toUsd } from "@/lib/workflows/pricing";

/**
 * The monthly budget: the server's default (USER_MONTHLY_BUDGET_USD, unset meaning none) or the
 * lower one a user set for themselves. A month is a calendar month in UTC.
 */

export function monthStart(now = new Date()): Date {
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
}

/** The limit that applies to the user, in micro-dollars; null: none. */
export async function effectiveLimit(deps: { config: Pick<Config, "USER_MONTHLY_BUDGET_USD">; store: Store }, userId: string): Promise<number | null> {
  const serverLimit = deps.config.USER_MONTHLY_BUDGET_USD === undefined ? null : toMicros(deps.config.USER_MONTHLY_BUDGET_USD);
  const own = await deps.store.readUserBudget(userId);
  if (own === null) return serverLimit;
  return serverLimit === null ? own : Math.min(own, serverLimit);
}

export async function budgetGuard(deps: { config: Pick<Config, "USER_MONTHLY_BUDGET_USD">; store: Store }, userId: string): Promise<BudgetGuard | undefined> {
  const limit = await effectiveLimit(deps, userId);
  return limit === null ? undefined : { limitMicros: limit, monthStart: monthStart() };
}

/** Runs a guarded write; a refusal by the budget becomes 402 budget_exceeded (nothing was stored). */
export async function withinBudget<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    if (!isBudgetExceeded(error)) throw error;
    const usd = (micros: number) => `$${toUsd(micros).toFixed(2)}`;
    throw new ApiError(
      "budget_exceeded",
      `This run (about ${usd(error.requestedMicros)}) would pass your monthly budget of ${usd(error.limitMicros)}: ${usd(error.committedMicros)} is spent or expected this month. Raise or remove the budget in Settings, or wait for running jobs to finish.`,
    );
  }
}

export interface BudgetSettings {
  /** The limit that applies (the lower of the server's and the user's own); null: none. */
  monthly_budget_usd: number | null;
  /** The server's default; a user may only set a lower one. */
  server_budget_usd: number | null;
  /** The user's own limit; null: none. */
  own_budget_usd: number | null;
  month_start: string;
  month_spent_usd: number;
  /** What the user's queued, running and parked jobs are still expected to spend. */
  month_outstanding_usd: number;
}

export async function readBudgetSettings(deps: { config: Pick<Config, "USER_MONTHLY_BUDGET_USD">; store: Store }, userId: string): Promise<BudgetSettings> {
  const since = monthStart();
  const [own, limit, spending] = await Promise.all([deps.store.readUserBudget(userId), effectiveLimit(deps, userId), deps.store.readSpending(userId, since)]);
  return {
    monthly_budget_usd: limit === null ? null : toUsd(limit),
    server_budget_usd: deps.config.USER_MONTHLY_BUDGET_USD ?? null,
    own_budget_usd: own === null ? null : toUsd(own),
    month_start: since.toISOString(),
    month_spent_usd: toUsd(spending.spentMicros),
    month_outstanding_usd: toUsd(spending.outstandingMicros),
  };
}

/** Sets (or, with null, removes) the user's own limit. It may only lower the server's default. */
export async function updateOwnBudget(deps: { config: Pick<Config, "USER_MONTHLY_BUDGET_USD">; store: Store }, userId: string, usd: number | null): Promise<BudgetSettings> {
  const serverLimit = deps.config.USER_MONTHLY_BUDGET_USD;
  if (usd !== null && serverLimit !== undefined && usd > serverLimit) {
    throw new ApiError("invalid_request", `monthly_budget_usd may not exceed the server's budget of $${serverLimit.toFixed(2)}; set a lower one or null for the server's.`);
  }
  await deps.store.setUserBudget(userId, usd === null ? null : toMicros(usd));
  return readBudgetSettings(deps, userId);
}
