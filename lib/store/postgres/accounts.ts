import "server-only";
import { randomUUID } from "node:crypto";
import type { ApiTokenRecord, NewApiToken, NewOAuthUser, NewPasswordUser } from "@/lib/store/account-types";
import { postgresTime, type PostgresConnection } from "@/lib/store/postgres/connection";
import type { AuthUser } from "@/lib/store/user-types";

/**
 * The cold-path writes of accounts on PostgreSQL: users (sign-up, OAuth, the token CLI), API
 * tokens, and the webhook deliveries already processed. Ids are UUIDs, as Prisma's @default(uuid())
 * made them. Each write is one statement.
 */

/** Store.insertPasswordUser: undefined when the email is taken (the unique index decides between racing sign-ups). */
export async function insertPasswordUser(c: PostgresConnection, user: NewPasswordUser, now: Date): Promise<{ id: string; email: string } | undefined> {
  const { rows } = await c.query<{ id: string; email: string }>(
    "INSERT INTO users (id, email, name, password_hash, created_at) VALUES ($1, $2, $3, $4, $5::timestamp(3)) ON CONFLICT (email) DO NOTHING RETURNING id, email",
    [randomUUID(), user.email, user.name ?? null, user.passwordHash, postgresTime(now)],
  );
  return rows[0];
}

export async function replacePasswordHash(c: PostgresConnection, userId: string, oldHash: string, newHash: string): Promise<boolean> {
  const { rowCount } = await c.query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3", [newHash, userId, oldHash]);
  return rowCount === 1;
}

/** Store.ensureUser: the insert and, when the email was taken, the existing row, in one statement. */
export async function ensureUser(c: PostgresConnection, email: string, now: Date): Promise<AuthUser> {
  const { rows } = await c.query<{ id: string; email: string; name: string | null }>(
    `WITH inserted AS (
       INSERT INTO users (id, email, created_at) VALUES ($1, $2, $3::timestamp(3)) ON CONFLICT (email) DO NOTHING RETURNING id, email, name
     )
     SELECT id, email, name FROM inserted UNION ALL SELECT id, email, name FROM users WHERE email = $2`,
    [randomUUID(), email, postgresTime(now)],
  );
  const row = rows[0];
  // Empty only when a racing insert of this email committed after the statement's snapshot: read again.
  return row ? { id: row.id, email: row.email, name: row.name } : ensureUser(c, email, now);
}

export async function findOAuthUserId(c: PostgresConnection, provider: string, providerAccountId: string): Promise<string | undefined> {
  const { rows } = await c.query<{ user_id: string }>("SELECT user_id FROM accounts WHERE provider = $1 AND provider_account_id = $2", [provider, providerAccountId]);
  return rows[0]?.user_id;
}

/** Store.insertOAuthUser: the user and its account in one statement (one transaction); undefined when the email is taken. */
export async function insertOAuthUser(c: PostgresConnection, user: NewOAuthUser, now: Date): Promise<string | undefined> {
  const { provider, providerAccountId, type } = user.account;
  const { rows } = await c.query<{ id: string }>(
    `WITH inserted AS (
       INSERT INTO users (id, email, name, image, created_at) VALUES ($1, $2, $3, $4, $5::timestamp(3)) ON CONFLICT (email) DO NOTHING RETURNING id
     ), account AS (
       INSERT INTO accounts (id, user_id, type, provider, provider_account_id) SELECT $6::text, id, $7::text, $8::text, $9::text FROM inserted
     )
     SELECT id FROM inserted`,
    [randomUUID(), user.email, user.name, user.image, postgresTime(now), randomUUID(), type, provider, providerAccountId],
  );
  return rows[0]?.id;
}

type TokenRow = { id: string; name: string; prefix: string; created_at: Date; last_used_at: Date | null; revoked_at: Date | null };

const tokenFromRow = (row: TokenRow): ApiTokenRecord => ({ id: row.id, name: row.name, prefix: row.prefix, createdAt: row.created_at, lastUsedAt: row.last_used_at, revokedAt: row.revoked_at });

export async function insertApiToken(c: PostgresConnection, token: NewApiToken, now: Date): Promise<ApiTokenRecord> {
  const { rows } = await c.query<TokenRow>(
    "INSERT INTO api_tokens (id, user_id, name, prefix, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6::timestamp(3)) RETURNING id, name, prefix, created_at, last_used_at, revoked_at",
    [randomUUID(), token.userId, token.name, token.prefix, token.tokenHash, postgresTime(now)],
  );
  return tokenFromRow(rows[0]!);
}

export async function listApiTokens(c: PostgresConnection, userId: string): Promise<ApiTokenRecord[]> {
  const { rows } = await c.query<TokenRow>("SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC, id DESC", [userId]);
  return rows.map(tokenFromRow);
}

export async function revokeApiToken(c: PostgresConnection, userId: string, tokenId: string, now: Date): Promise<boolean> {
  const { rowCount } = await c.query("UPDATE api_tokens SET revoked_at = $1::timestamp(3) WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL", [postgresTime(now), tokenId, userId]);
  return rowCount === 1;
}

/** Store.claimWebhookDelivery: true when the delivery's id is new (its row inserted), false when it was processed before. */
export async function claimWebhookDelivery(c: PostgresConnection, id: string, source: string, now: Date): Promise<boolean> {
  const { rowCount } = await c.query("INSERT INTO webhook_deliveries (id, source, received_at) VALUES ($1, $2, $3::timestamp(3)) ON CONFLICT (id) DO NOTHING", [id, source, postgresTime(now)]);
  return rowCount === 1;
}

export async function forgetWebhookDelivery(c: PostgresConnection, id: string): Promise<void> {
  await c.query("DELETE FROM webhook_deliveries WHERE id = $1", [id]);
}

export async function deleteWebhookDeliveries(c: PostgresConnection, source: string, before: Date): Promise<number> {
  const { rowCount } = await c.query("DELETE FROM webhook_deliveries WHERE source = $1 AND received_at < $2::timestamp(3)", [source, postgresTime(before)]);
  return rowCount;
}
