import "server-only";
import { toDate } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import type { AuthUser, PasswordUser } from "@/lib/store/user-types";

/** Authentication's reads on SQLite (Store.findTokenUser, Store.readUser, Store.findPasswordUser): one indexed lookup each. */
export function findTokenUser(c: SqliteConnection, tokenHash: string, now: Date, touchAfterMs: number): AuthUser | undefined {
  const row = c.get<{ token_id: string; last_used_at: string | null; id: string; email: string; name: string | null }>(
    "SELECT t.id AS token_id, t.last_used_at, u.id, u.email, u.name FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_hash = ? AND t.revoked_at IS NULL",
    tokenHash,
  );
  if (!row) return undefined;
  const lastUsed = toDate(row.last_used_at);
  if (!lastUsed || now.getTime() - lastUsed.getTime() > touchAfterMs) c.run("UPDATE api_tokens SET last_used_at = ? WHERE id = ?", sqliteTime(now), row.token_id);
  return { id: row.id, email: row.email, name: row.name };
}

export function readUser(c: SqliteConnection, userId: string): AuthUser | undefined {
  return c.get<AuthUser>("SELECT id, email, name FROM users WHERE id = ?", userId);
}

export function findPasswordUser(c: SqliteConnection, email: string): PasswordUser | undefined {
  const row = c.get<{ id: string; email: string; name: string | null; password_hash: string | null }>("SELECT id, email, name, password_hash FROM users WHERE email = ?", email);
  return row && { id: row.id, email: row.email, name: row.name, passwordHash: row.password_hash };
}
