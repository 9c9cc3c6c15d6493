import "server-only";
import { toDate } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import { BudgetExceededError, type BudgetGuard, type Charge, type Spending } from "@/lib/store/types";

/**
 * Spending on SQLite: the month's charged steps, what active jobs are still expected to cost, the
 * ledger's items, and the budget check. Called inside the write transaction of the job insert or
 * retry it guards (BEGIN IMMEDIATE holds the database's one write lock), so the check and the write
 * are one atomic step, across processes too.
 */

const SPENDING_SQL = `SELECT
  (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c JOIN jobs j ON j.id = c.job_id
    WHERE j.user_id = ? AND c.cost_micro_usd > 0 AND c.completed_at >= ?) AS spent,
  (SELECT coalesce(sum(max(0, j.estimated_micro_usd - (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c WHERE c.job_id = j.id))), 0)
    FROM jobs j WHERE j.user_id = ? AND j.status IN ('queued', 'running', 'pending_retry', 'awaiting_approval', 'awaiting_input') AND j.id IS NOT ?) AS outstanding`;

export function readSpending(connection: SqliteConnection, userId: string, since: Date, excludeJobId: string | null = null): Spending {
  const row = connection.get<{ spent: number; outstanding: number }>(SPENDING_SQL, userId, sqliteTime(since), userId, excludeJobId);
  return { spentMicros: Number(row?.spent ?? 0), outstandingMicros: Number(row?.outstanding ?? 0) };
}

/** Inside the write transaction: refuses (throws) when `requestedMicros` more would pass the budget. */
export function checkBudget(connection: SqliteConnection, userId: string, budget: BudgetGuard, requestedMicros: number, excludeJobId: string | null = null): void {
  const spending = readSpending(connection, userId, budget.monthStart, excludeJobId);
  const committed = spending.spentMicros + spending.outstandingMicros;
  if (committed + requestedMicros > budget.limitMicros) throw new BudgetExceededError(budget.limitMicros, committed, requestedMicros);
}

export function remainingEstimate(connection: SqliteConnection, jobId: string): { userId: string; micros: number } | undefined {
  const row = connection.get<{ user_id: string; remaining: number }>(
    "SELECT j.user_id, max(0, j.estimated_micro_usd - (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c WHERE c.job_id = j.id)) AS remaining FROM jobs j WHERE j.id = ?",
    jobId,
  );
  return row && { userId: row.user_id, micros: Number(row.remaining) };
}

export function listCharges(connection: SqliteConnection, userId: string, range: { from: Date; to: Date; limit: number }): Charge[] {
  return connection
    .all(
      `SELECT c.job_id, j.workflow_id, c.step_index, c.candidate, c.cost_micro_usd, c.completed_at FROM checkpoints c JOIN jobs j ON j.id = c.job_id
       WHERE j.user_id = ? AND c.cost_micro_usd > 0 AND c.completed_at >= ? AND c.completed_at < ?
       ORDER BY c.completed_at, c.job_id, c.step_index, c.candidate LIMIT ?`,
      userId,
      sqliteTime(range.from),
      sqliteTime(range.to),
      range.limit,
    )
    .map((row) => ({
      jobId: String(row.job_id),
      workflowId: String(row.workflow_id),
      stepIndex: Number(row.step_index),
      candidate: Number(row.candidate),
      costMicroUsd: Number(row.cost_micro_usd),
      chargedAt: toDate(row.completed_at)!,
    }));
}

export function readUserBudget(connection: SqliteConnection, userId: string): number | null {
  const row = connection.get<{ limit: number }>("SELECT monthly_limit_micro_usd AS \"limit\" FROM user_budgets WHERE user_id = ?", userId);
  return row ? Number(row.limit) : null;
}

export function setUserBudget(connection: SqliteConnection, userId: string, limitMicros: number | null): void {
  if (limitMicros === null) {
    connection.run("DELETE FROM user_budgets WHERE user_id = ?", userId);
    return;
  }
  connection.run(
    `INSERT INTO user_budgets (user_id, monthly_limit_micro_usd, updated_at) VALUES (?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET monthly_limit_micro_usd = excluded.monthly_limit_micro_usd, updated_at = excluded.updated_at`,
    userId,
    limitMicros,
    sqliteTime(new Date()),
  );
}
