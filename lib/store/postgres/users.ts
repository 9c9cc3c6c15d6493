import "server-only";
import { postgresTime, type PostgresConnection } from "@/lib/store/postgres/connection";
import type { AuthUser, PasswordUser } from "@/lib/store/user-types";

/**
 * Authentication's reads on PostgreSQL (Store.findTokenUser, Store.readUser, Store.findPasswordUser). The token's lookup
 * and its last-use mark are one statement (one round trip): the UPDATE in the CTE runs only when
 * the last use is older than the resolution, and the SELECT reads the row as it was.
 */
export async function findTokenUser(c: PostgresConnection, tokenHash: string, now: Date, touchAfterMs: number): Promise<AuthUser | undefined> {
  const { rows } = await c.query<{ id: string; email: string; name: string | null }>(
    `WITH token AS (
       SELECT t.id AS token_id, t.last_used_at, u.id, u.email, u.name FROM api_tokens t JOIN users u ON u.id = t.user_id
       WHERE t.token_hash = $1 AND t.revoked_at IS NULL
     ), touched AS (
       UPDATE api_tokens SET last_used_at = $2::timestamp(3)
       WHERE id = (SELECT token_id FROM token) AND (last_used_at IS NULL OR last_used_at < $3::timestamp(3))
     )
     SELECT id, email, name FROM token`,
    [tokenHash, postgresTime(now), postgresTime(new Date(now.getTime() - touchAfterMs))],
  );
  const row = rows[0];
  return row && { id: row.id, email: row.email, name: row.name };
}

export async function readUser(c: PostgresConnection, userId: string): Promise<AuthUser | undefined> {
  const { rows } = await c.query<{ id: string; email: string; name: string | null }>("SELECT id, email, name FROM users WHERE id = $1", [userId]);
  const row = rows[0];
  return row && { id: row.id, email: row.email, name: row.name };
}

export async function findPasswordUser(c: PostgresConnection, email: string): Promise<PasswordUser | undefined> {
  const { rows } = await c.query<{ id: string; email: string; name: string | null; password_hash: string | null }>("SELECT id, email, name, password_hash FROM users WHERE email = $1", [email]);
  const row = rows[0];
  return row && { id: row.id, email: row.email, name: row.name, passwordHash: row.password_hash };
}
