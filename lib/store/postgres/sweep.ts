import "server-only";
import { postgresTime, type PostgresConnection } from "@/lib/store/postgres/connection";
import { queuedJobFromRow } from "@/lib/store/rows";
import type { QueuedJob } from "@/lib/store/types";

// What recovery, the retry sweep and the deadline and approval timers look for on PostgreSQL (Store.findOrphans and the others below).

export async function findOrphans(c: PostgresConnection, now: Date, limit: number, localPrefix: string) {
  const { rows } = await c.query<{ job_id: string; lease_owner: string | null; lease_expires_at: Date | null }>(
    `SELECT e.job_id, e.lease_owner, e.lease_expires_at FROM workflow_executions e JOIN jobs j ON j.id = e.job_id
     WHERE j.status IN ('running', 'queued') AND (e.lease_owner IS NULL OR e.lease_expires_at < $1::timestamp(3) OR starts_with(e.lease_owner, $2))
     ORDER BY e.created_at LIMIT $3`,
    [postgresTime(now), localPrefix, limit],
  );
  return rows.map((row) => ({ jobId: row.job_id, leaseOwner: row.lease_owner, leaseExpiresAt: row.lease_expires_at }));
}

export async function findExpiredDeadlines(c: PostgresConnection, now: Date, limit: number): Promise<string[]> {
  const { rows } = await c.query<{ id: string }>(
    "SELECT id FROM jobs WHERE status IN ('queued', 'pending_retry', 'awaiting_approval', 'awaiting_input') AND deadline_at <= $1::timestamp(3) ORDER BY deadline_at LIMIT $2",
    [postgresTime(now), limit],
  );
  return rows.map((row) => row.id);
}

export async function findExpiredApprovals(c: PostgresConnection, now: Date, limit: number): Promise<{ jobId: string; until: Date }[]> {
  const { rows } = await c.query<{ id: string; awaiting_until: Date }>(
    "SELECT id, awaiting_until FROM jobs WHERE status = 'awaiting_approval' AND awaiting_until <= $1::timestamp(3) ORDER BY awaiting_until LIMIT $2",
    [postgresTime(now), limit],
  );
  return rows.map((row) => ({ jobId: row.id, until: row.awaiting_until }));
}

export async function findDueRetries(c: PostgresConnection, now: Date, limit: number) {
  const { rows } = await c.query<{ id: string; provider: string | null }>(
    `SELECT j.id, e.last_error_provider AS provider FROM jobs j JOIN workflow_executions e ON e.job_id = j.id
     WHERE j.status = 'pending_retry' AND j.next_retry_at <= $1::timestamp(3) ORDER BY j.next_retry_at LIMIT $2`,
    [postgresTime(now), limit],
  );
  return rows.map((row) => ({ jobId: row.id, provider: row.provider }));
}

export async function findQueuedBetween(c: PostgresConnection, after: Date, before: Date, limit: number): Promise<QueuedJob[]> {
  const { rows } = await c.query(
    "SELECT id, user_id, attempts FROM jobs WHERE status = 'queued' AND updated_at > $1::timestamp(3) AND updated_at < $2::timestamp(3) ORDER BY updated_at LIMIT $3",
    [postgresTime(after), postgresTime(before), limit],
  );
  return rows.map(queuedJobFromRow);
}

export async function countQueuedBefore(c: PostgresConnection, before: Date): Promise<number> {
  const { rows } = await c.query<{ n: number }>("SELECT count(*)::int AS n FROM jobs WHERE status = 'queued' AND updated_at <= $1::timestamp(3)", [postgresTime(before)]);
  return Number(rows[0]?.n ?? 0);
}
