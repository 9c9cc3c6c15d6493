import "server-only";
import { randomUUID } from "node:crypto";
import type { ApiTokenRecord, NewApiToken, NewOAuthUser, NewPasswordUser } from "@/lib/store/account-types";
import { toDate } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import type { AuthUser } from "@/lib/store/user-types";

/**
 * The cold-path writes of accounts on SQLite: users (sign-up, OAuth, the token CLI), API tokens,
 * and the webhook deliveries already processed. Ids are UUIDs, as Prisma's @default(uuid()) made them.
 */

/** Store.insertPasswordUser: undefined when the email is taken (the unique index decides between racing sign-ups). */
export function insertPasswordUser(c: SqliteConnection, user: NewPasswordUser, now: Date): { id: string; email: string } | undefined {
  const id = randomUUID();
  const inserted = c.run(
    "INSERT INTO users (id, email, name, password_hash, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING",
    id,
    user.email,
    user.name ?? null,
    user.passwordHash,
    sqliteTime(now),
  );
  return inserted === 1 ? { id, email: user.email } : undefined;
}

export function replacePasswordHash(c: SqliteConnection, userId: string, oldHash: string, newHash: string): boolean {
  return c.run("UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?", newHash, userId, oldHash) === 1;
}

export function ensureUser(c: SqliteConnection, email: string, now: Date): AuthUser {
  return c.write(() => {
    c.run("INSERT INTO users (id, email, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING", randomUUID(), email, sqliteTime(now));
    return c.get<AuthUser>("SELECT id, email, name FROM users WHERE email = ?", email)!;
  });
}

export function findOAuthUserId(c: SqliteConnection, provider: string, providerAccountId: string): string | undefined {
  return c.get<{ user_id: string }>("SELECT user_id FROM accounts WHERE provider = ? AND provider_account_id = ?", provider, providerAccountId)?.user_id;
}

/** Store.insertOAuthUser: the user and its account in one transaction; undefined when the email is taken. */
export function insertOAuthUser(c: SqliteConnection, user: NewOAuthUser, now: Date): string | undefined {
  return c.write(() => {
    const id = randomUUID();
    const inserted = c.run(
      "INSERT INTO users (id, email, name, image, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (email) DO NOTHING",
      id,
      user.email,
      user.name,
      user.image,
      sqliteTime(now),
    );
    if (inserted === 0) return undefined;
    const { provider, providerAccountId, type } = user.account;
    c.run("INSERT INTO accounts (id, user_id, type, provider, provider_account_id) VALUES (?, ?, ?, ?, ?)", randomUUID(), id, type, provider, providerAccountId);
    return id;
  });
}

const TOKEN_COLUMNS = "id, name, prefix, created_at, last_used_at, revoked_at";

function tokenFromRow(row: Record<string, unknown>): ApiTokenRecord {
  return {
    id: row.id as string,
    name: row.name as string,
    prefix: row.prefix as string,
    createdAt: toDate(row.created_at)!,
    lastUsedAt: toDate(row.last_used_at),
    revokedAt: toDate(row.revoked_at),
  };
}

export function insertApiToken(c: SqliteConnection, token: NewApiToken, now: Date): ApiTokenRecord {
  const id = randomUUID();
  c.run("INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)", id, token.userId, token.name, token.prefix, token.tokenHash, sqliteTime(now));
  return { id, name: token.name, prefix: token.prefix, createdAt: new Date(now.getTime()), lastUsedAt: null, revokedAt: null };
}

export function listApiTokens(c: SqliteConnection, userId: string): ApiTokenRecord[] {
  return c.all(`SELECT ${TOKEN_COLUMNS} FROM api_tokens WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userId).map(tokenFromRow);
}

export function revokeApiToken(c: SqliteConnection, userId: string, tokenId: string, now: Date): boolean {
  return c.run("UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL", sqliteTime(now), tokenId, userId) === 1;
}

/** Store.claimWebhookDelivery: true when the delivery's id is new (its row inserted), false when it was processed before. */
export function claimWebhookDelivery(c: SqliteConnection, id: string, source: string, now: Date): boolean {
  return c.run("INSERT INTO webhook_deliveries (id, source, received_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING", id, source, sqliteTime(now)) === 1;
}

export function forgetWebhookDelivery(c: SqliteConnection, id: string): void {
  c.run("DELETE FROM webhook_deliveries WHERE id = ?", id);
}

export function deleteWebhookDeliveries(c: SqliteConnection, source: string, before: Date): number {
  return c.run("DELETE FROM webhook_deliveries WHERE source = ? AND received_at < ?", source, sqliteTime(before));
}
