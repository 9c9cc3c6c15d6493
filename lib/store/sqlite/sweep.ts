import "server-only";
import { queuedJobFromRow, toDate } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import type { QueuedJob } from "@/lib/store/types";

// What recovery, the retry sweep and the deadline and approval timers look for on SQLite (Store.findOrphans and the others below).

export function findOrphans(c: SqliteConnection, now: Date, limit: number, localPrefix: string) {
  const rows = c.all<{ job_id: string; lease_owner: string | null; lease_expires_at: string | null }>(
    `SELECT e.job_id, e.lease_owner, e.lease_expires_at FROM workflow_executions e JOIN jobs j ON j.id = e.job_id
     WHERE j.status IN ('running', 'queued') AND (e.lease_owner IS NULL OR e.lease_expires_at < ? OR substr(e.lease_owner, 1, length(?)) = ?)
     ORDER BY e.created_at LIMIT ?`,
    sqliteTime(now),
    localPrefix,
    localPrefix,
    limit,
  );
  return rows.map((row) => ({ jobId: row.job_id, leaseOwner: row.lease_owner, leaseExpiresAt: toDate(row.lease_expires_at) }));
}

export function findExpiredDeadlines(c: SqliteConnection, now: Date, limit: number): string[] {
  return c
    .all<{ id: string }>(
      "SELECT id FROM jobs WHERE status IN ('queued', 'pending_retry', 'awaiting_approval', 'awaiting_input') AND deadline_at <= ? ORDER BY deadline_at LIMIT ?",
      sqliteTime(now),
      limit,
    )
    .map((row) => row.id);
}

export function findExpiredApprovals(c: SqliteConnection, now: Date, limit: number): { jobId: string; until: Date }[] {
  return c
    .all<{ id: string; awaiting_until: string }>("SELECT id, awaiting_until FROM jobs WHERE status = 'awaiting_approval' AND awaiting_until <= ? ORDER BY awaiting_until LIMIT ?", sqliteTime(now), limit)
    .map((row) => ({ jobId: row.id, until: toDate(row.awaiting_until)! }));
}

export function findDueRetries(c: SqliteConnection, now: Date, limit: number) {
  const rows = c.all<{ id: string; provider: string | null }>(
    `SELECT j.id, e.last_error_provider AS provider FROM jobs j JOIN workflow_executions e ON e.job_id = j.id
     WHERE j.status = 'pending_retry' AND j.next_retry_at <= ? ORDER BY j.next_retry_at LIMIT ?`,
    sqliteTime(now),
    limit,
  );
  return rows.map((row) => ({ jobId: row.id, provider: row.provider }));
}

export function findQueuedBetween(c: SqliteConnection, after: Date, before: Date, limit: number): QueuedJob[] {
  return c
    .all("SELECT id, user_id, attempts FROM jobs WHERE status = 'queued' AND updated_at > ? AND updated_at < ? ORDER BY updated_at LIMIT ?", sqliteTime(after), sqliteTime(before), limit)
    .map(queuedJobFromRow);
}

export function countQueuedBefore(c: SqliteConnection, before: Date): number {
  return Number(c.get<{ n: number }>("SELECT count(*) AS n FROM jobs WHERE status = 'queued' AND updated_at <= ?", sqliteTime(before))!.n);
}
