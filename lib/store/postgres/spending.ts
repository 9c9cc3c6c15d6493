import "server-only";
import { postgresTime, type PostgresConnection, type Query } from "@/lib/store/postgres/connection";
import { toDate } from "@/lib/store/rows";
import { BudgetExceededError, type BudgetGuard, type Charge, type Spending } from "@/lib/store/types";

/**
 * Spending on PostgreSQL: the month's charged steps, what active jobs are still expected to cost,
 * the ledger's items, and the budget check that guards a new job or a retry. The check locks the
 * user's row first (FOR UPDATE) so that two writes of one user's work check and write one after
 * the other: each statement after the lock reads what the other committed.
 */

const ACTIVE = "('queued', 'running', 'pending_retry', 'awaiting_approval', 'awaiting_input')";

const SPENDING_SQL = `SELECT
  (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c JOIN jobs j ON j.id = c.job_id
    WHERE j.user_id = $1 AND c.cost_micro_usd > 0 AND c.completed_at >= $2::timestamp(3)) AS spent,
  (SELECT coalesce(sum(greatest(0, j.estimated_micro_usd - (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c WHERE c.job_id = j.id))), 0)
    FROM jobs j WHERE j.user_id = $1 AND j.status IN ${ACTIVE} AND j.id IS DISTINCT FROM $3) AS outstanding`;

export async function readSpending(query: Query, userId: string, since: Date, excludeJobId: string | null = null): Promise<Spending> {
  const { rows } = await query<{ spent: number; outstanding: number }>(SPENDING_SQL, [userId, postgresTime(since), excludeJobId]);
  return { spentMicros: Number(rows[0]?.spent ?? 0), outstandingMicros: Number(rows[0]?.outstanding ?? 0) };
}

/** Inside a transaction: takes the user's lock, then refuses (throws) when `requestedMicros` more would pass the budget. */
export async function checkBudget(query: Query, userId: string, budget: BudgetGuard, requestedMicros: number, excludeJobId: string | null = null): Promise<void> {
  await query("SELECT id FROM users WHERE id = $1 FOR UPDATE", [userId]);
  const spending = await readSpending(query, userId, budget.monthStart, excludeJobId);
  const committed = spending.spentMicros + spending.outstandingMicros;
  if (committed + requestedMicros > budget.limitMicros) throw new BudgetExceededError(budget.limitMicros, committed, requestedMicros);
}

/** What a retry would still spend: the job's estimate less what it cost so far (none for a missing job). */
export async function remainingEstimate(query: Query, jobId: string): Promise<{ userId: string; micros: number } | undefined> {
  const { rows } = await query<{ user_id: string; remaining: number }>(
    "SELECT j.user_id, greatest(0, j.estimated_micro_usd - (SELECT coalesce(sum(c.cost_micro_usd), 0) FROM checkpoints c WHERE c.job_id = j.id)) AS remaining FROM jobs j WHERE j.id = $1",
    [jobId],
  );
  const row = rows[0];
  return row && { userId: row.user_id, micros: Number(row.remaining) };
}

export async function listCharges(connection: PostgresConnection, userId: string, range: { from: Date; to: Date; limit: number }): Promise<Charge[]> {
  const { rows } = await connection.query(
    `SELECT c.job_id, j.workflow_id, c.step_index, c.candidate, c.cost_micro_usd, c.completed_at FROM checkpoints c JOIN jobs j ON j.id = c.job_id
     WHERE j.user_id = $1 AND c.cost_micro_usd > 0 AND c.completed_at >= $2::timestamp(3) AND c.completed_at < $3::timestamp(3)
     ORDER BY c.completed_at, c.job_id, c.step_index, c.candidate LIMIT $4`,
    [userId, postgresTime(range.from), postgresTime(range.to), range.limit],
  );
  return rows.map((row) => ({
    jobId: String(row.job_id),
    workflowId: String(row.workflow_id),
    stepIndex: Number(row.step_index),
    candidate: Number(row.candidate),
    costMicroUsd: Number(row.cost_micro_usd),
    chargedAt: toDate(row.completed_at)!,
  }));
}

export async function readUserBudget(connection: PostgresConnection, userId: string): Promise<number | null> {
  const { rows } = await connection.query<{ limit: number }>(`SELECT monthly_limit_micro_usd AS "limit" FROM user_budgets WHERE user_id = $1`, [userId]);
  return rows[0] ? Number(rows[0].limit) : null;
}

export async function setUserBudget(connection: PostgresConnection, userId: string, limitMicros: number | null): Promise<void> {
  if (limitMicros === null) {
    await connection.query("DELETE FROM user_budgets WHERE user_id = $1", [userId]);
    return;
  }
  await connection.query(
    `INSERT INTO user_budgets (user_id, monthly_limit_micro_usd, updated_at) VALUES ($1, $2::bigint, $3::timestamp(3))
     ON CONFLICT (user_id) DO UPDATE SET monthly_limit_micro_usd = EXCLUDED.monthly_limit_micro_usd, updated_at = EXCLUDED.updated_at`,
    [userId, limitMicros, postgresTime(new Date())],
  );
}
