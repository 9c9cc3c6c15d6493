import "server-only";
import { CHECKPOINT_COLUMNS, EXECUTION_COLUMNS, INCREMENT, JOB_COLUMNS, setColumns, type AppliedPlan, type ColumnType, type ColumnValues, type WritePlan } from "@/lib/store/plans";
import { postgresTime, postgresValue, type PostgresConnection, type Query } from "@/lib/store/postgres/connection";
import { webhookMessagesCte } from "@/lib/store/postgres/webhooks";

/**
 * Write plans (lib/store/plans.ts) as one PostgreSQL statement each: a CTE locks the job and its
 * execution when the guard holds (status, fence), and data-modifying CTEs write the rest from it,
 * so a plan is one round trip and one commit, all or nothing. The lock (FOR UPDATE) re-checks the
 * guard after waiting for a concurrent writer, so a lease taken or a cancel committed while this
 * statement waits makes it write nothing. Statement texts depend only on a plan's shape.
 */
export async function applyPostgresPlans(connection: PostgresConnection, plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]> {
  if (plans.length === 1) return [await applyPostgresPlan((text, values) => connection.query(text, values), plans[0]!, now)];
  return connection.transaction(async (query) => {
    const applied: (AppliedPlan | undefined)[] = [];
    for (const plan of plans) applied.push(await applyPostgresPlan(query, plan, now));
    return applied;
  });
}

export async function applyPostgresPlan(query: Query, plan: WritePlan, now: Date): Promise<AppliedPlan | undefined> {
  const params: unknown[] = [];
  const param = (value: unknown, cast = "") => {
    params.push(value);
    return `$${params.length}${cast}`;
  };
  const at = param(postgresTime(now), "::timestamp(3)");
  const guard = [`j.id = ${param(plan.jobId)}`, `j.status = ANY(${param(plan.statusIn, "::text[]")})`];
  if (plan.fence) guard.push(`e.lease_owner = ${param(plan.fence.owner)}`);
  if (plan.fence && plan.fence.anyEpoch !== true) guard.push(`e.lease_epoch = ${param(plan.fence.epoch, "::int")}`);
  if (plan.queuedAttempts !== undefined) guard.push(`(j.status <> 'queued' OR j.attempts = ${param(plan.queuedAttempts, "::int")})`);
  if (plan.currentStep !== undefined) guard.push(`e.current_step = ${param(plan.currentStep, "::int")}`);
  if (plan.awaitingUntil !== undefined) guard.push(`j.awaiting_until = ${param(postgresTime(plan.awaitingUntil), "::timestamp(3)")}`);
  const ctes = [`locked AS (SELECT j.id, j.user_id, j.attempts FROM jobs j JOIN workflow_executions e ON e.job_id = j.id WHERE ${guard.join(" AND ")} FOR UPDATE OF j, e)`];
  if (plan.job) ctes.push(`job_update AS (UPDATE jobs SET ${setClause(JOB_COLUMNS, plan.job, param)}, updated_at = ${at} WHERE id = (SELECT id FROM locked) RETURNING id)`);
  if (plan.execution) {
    ctes.push(`execution_update AS (UPDATE workflow_executions SET ${setClause(EXECUTION_COLUMNS, plan.execution, param)}, updated_at = ${at} WHERE job_id = (SELECT id FROM locked) RETURNING job_id)`);
  }
  (plan.checkpoints ?? []).forEach((checkpoint, i) => {
    const set = setColumns(checkpoint.values);
    const columns = set.map(([column]) => column);
    const values = set.map(([column, value]) => {
      const bound = postgresValue(CHECKPOINT_COLUMNS[column], value as never);
      return param(bound.value, bound.cast);
    });
    ctes.push(
      `checkpoint_${i} AS (INSERT INTO checkpoints (job_id, step_index, candidate, ${columns.join(", ")}, updated_at) ` +
        `SELECT id, ${param(checkpoint.stepIndex, "::int")}, ${param(checkpoint.candidate, "::int")}, ${values.join(", ")}, ${at} FROM locked ` +
        `ON CONFLICT (job_id, step_index, candidate) DO UPDATE SET ${columns.map((column) => `${column} = EXCLUDED.${column}`).join(", ")}, updated_at = EXCLUDED.updated_at RETURNING 1)`,
    );
  });
  if (plan.events.length > 0) {
    const events = param(JSON.stringify(plan.events.map((event) => ({ type: event.type, data: event.data }))), "::jsonb");
    ctes.push(
      `events_insert AS (INSERT INTO job_events (job_id, type, data, created_at) SELECT locked.id, x.type, x.data, ${at} ` +
        `FROM locked, ROWS FROM (jsonb_to_recordset(${events}) AS (type text, data jsonb)) WITH ORDINALITY AS x(type, data, n) ORDER BY x.n RETURNING id, type)`,
    );
    ctes.push(webhookMessagesCte("events_insert", "(SELECT id FROM locked)", at));
  }
  const { rows } = await query<{ user_id: string; attempts: number }>(`WITH ${ctes.join(", ")} SELECT user_id, attempts FROM locked`, params);
  const row = rows[0];
  return row && { userId: row.user_id, attempts: Number(row.attempts) };
}

function setClause<C extends string>(types: Record<C, ColumnType>, values: ColumnValues<C>, param: (value: unknown, cast: string) => string): string {
  return setColumns(values)
    .map(([column, value]) => {
      if (value === INCREMENT) return `${column} = ${column} + 1`;
      const bound = postgresValue(types[column], value);
      return `${column} = ${param(bound.value, bound.cast)}`;
    })
    .join(", ");
}
