import "server-only";
import { CHECKPOINT_COLUMNS, EXECUTION_COLUMNS, INCREMENT, JOB_COLUMNS, setColumns, type AppliedPlan, type ColumnType, type ColumnValues, type WritePlan } from "@/lib/store/plans";
import { sqliteTime, sqliteValue, type SqliteConnection } from "@/lib/store/sqlite/connection";
import { insertWebhookMessages } from "@/lib/store/sqlite/webhooks";

/**
 * Write plans (lib/store/plans.ts) as SQLite statements: a guard read, then the updates and
 * inserts, all inside one BEGIN IMMEDIATE transaction. Statement texts depend only on a plan's
 * shape, so each is prepared once.
 */
export function applySqlitePlans(connection: SqliteConnection, plans: WritePlan[], now: Date): (AppliedPlan | undefined)[] {
  const at = sqliteTime(now);
  return connection.write(() => plans.map((plan) => applyPlan(connection, plan, at)));
}

function applyPlan(connection: SqliteConnection, plan: WritePlan, at: string): AppliedPlan | undefined {
  const guard = guardStatement(plan);
  const row = connection.get<{ user_id: string; attempts: number }>(guard.sql, ...guard.params);
  if (!row) return undefined;
  if (plan.job) {
    const set = setClause(JOB_COLUMNS, plan.job);
    connection.run(`UPDATE jobs SET ${set.sql}, updated_at = ? WHERE id = ?`, ...set.params, at, plan.jobId);
  }
  if (plan.execution) {
    const set = setClause(EXECUTION_COLUMNS, plan.execution);
    connection.run(`UPDATE workflow_executions SET ${set.sql}, updated_at = ? WHERE job_id = ?`, ...set.params, at, plan.jobId);
  }
  for (const checkpoint of plan.checkpoints ?? []) {
    const set = setColumns(checkpoint.values);
    const columns = set.map(([column]) => column);
    const values = set.map(([column, value]) => sqliteValue(CHECKPOINT_COLUMNS[column], value as never));
    connection.run(
      `INSERT INTO checkpoints (job_id, step_index, candidate, ${columns.join(", ")}, updated_at) VALUES (?, ?, ?, ${columns.map(() => "?").join(", ")}, ?)
       ON CONFLICT (job_id, step_index, candidate) DO UPDATE SET ${columns.map((column) => `${column} = excluded.${column}`).join(", ")}, updated_at = excluded.updated_at`,
      plan.jobId,
      checkpoint.stepIndex,
      checkpoint.candidate,
      ...values,
      at,
    );
  }
  if (plan.events.length > 0) {
    connection.run(
      `INSERT INTO job_events (job_id, type, data, created_at) VALUES ${plan.events.map(() => "(?, ?, ?, ?)").join(", ")}`,
      ...plan.events.flatMap((event) => [plan.jobId, event.type, JSON.stringify(event.data), at]),
    );
    insertWebhookMessages(connection, plan.jobId, plan.events.length);
  }
  return { userId: row.user_id, attempts: Number(row.attempts) };
}

function guardStatement(plan: WritePlan): { sql: string; params: unknown[] } {
  const conditions = [`j.id = ?`, `j.status IN (${plan.statusIn.map(() => "?").join(", ")})`];
  const params: unknown[] = [plan.jobId, ...plan.statusIn];
  if (plan.fence) {
    conditions.push("e.lease_owner = ?");
    params.push(plan.fence.owner);
    if (plan.fence.anyEpoch !== true) {
      conditions.push("e.lease_epoch = ?");
      params.push(plan.fence.epoch);
    }
  }
  if (plan.queuedAttempts !== undefined) {
    conditions.push("(j.status <> 'queued' OR j.attempts = ?)");
    params.push(plan.queuedAttempts);
  }
  if (plan.currentStep !== undefined) {
    conditions.push("e.current_step = ?");
    params.push(plan.currentStep);
  }
  if (plan.awaitingUntil !== undefined) {
    conditions.push("j.awaiting_until = ?");
    params.push(sqliteTime(plan.awaitingUntil));
  }
  return { sql: `SELECT j.user_id, j.attempts FROM jobs j JOIN workflow_executions e ON e.job_id = j.id WHERE ${conditions.join(" AND ")}`, params };
}

function setClause<C extends string>(types: Record<C, ColumnType>, values: ColumnValues<C>): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const parts = setColumns(values).map(([column, value]) => {
    if (value === INCREMENT) return `${column} = ${column} + 1`;
    params.push(sqliteValue(types[column], value));
    return `${column} = ?`;
  });
  return { sql: parts.join(", "), params };
}
