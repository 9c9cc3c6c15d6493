import "server-only";
import { idempotencyFromRow } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import type { IdempotencyClaim, IdempotencyRecord, IdempotentResponse } from "@/lib/store/types";

/** Idempotency keys on SQLite (see Store.insertIdempotentJob): the upsert on the primary key decides between racing requests. */

/** Inside a write transaction: the upsert takes a free or expired key, or the key's record is read. */
export function claimIdempotencyKey(c: SqliteConnection, claim: IdempotencyClaim): IdempotencyRecord | undefined {
  const taken = c.run(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, response_status, response_body, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, job_id = excluded.job_id, response_status = excluded.response_status,
       response_body = excluded.response_body, created_at = excluded.created_at, expires_at = excluded.expires_at
     WHERE idempotency_keys.expires_at <= excluded.created_at`,
    claim.userId,
    claim.key,
    claim.requestHash,
    claim.jobId,
    claim.response?.status ?? null,
    claim.response ? JSON.stringify(claim.response.body) : null,
    sqliteTime(claim.now),
    sqliteTime(claim.expiresAt),
  );
  if (taken === 1) return undefined;
  return idempotencyFromRow(c.get("SELECT * FROM idempotency_keys WHERE user_id = ? AND key = ?", claim.userId, claim.key)!);
}

export async function completeIdempotencyKey(c: SqliteConnection, userId: string, key: string, response: IdempotentResponse): Promise<void> {
  c.run(
    "UPDATE idempotency_keys SET response_status = ?, response_body = ? WHERE user_id = ? AND key = ? AND response_status IS NULL",
    response.status,
    JSON.stringify(response.body),
    userId,
    key,
  );
}

export async function releaseIdempotencyKey(c: SqliteConnection, userId: string, key: string): Promise<void> {
  c.run("DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND response_status IS NULL", userId, key);
}

export async function deleteExpiredIdempotencyKeys(c: SqliteConnection, now: Date, limit: number): Promise<number> {
  return c.run(
    "DELETE FROM idempotency_keys WHERE rowid IN (SELECT rowid FROM idempotency_keys WHERE expires_at <= ? ORDER BY expires_at LIMIT ?)",
    sqliteTime(now),
    limit,
  );
}
