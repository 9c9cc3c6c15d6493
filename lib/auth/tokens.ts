import "server-only";
import { createHash, randomBytes } from "node:crypto";
import type { Db } from "@/lib/db/client";
import type { AuthUser, Store } from "@/lib/store/types";

/** Montage API tokens: "mtg_" + 256 random bits, base64url. Only the SHA-256 is stored. */
export const TOKEN_PREFIX = "mtg_";
const TOKEN_PATTERN = /^mtg_[A-Za-z0-9_-]{43}$/;
/** last_used_at is written at most this often per token, so auth does not cost a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

export async function createApiToken(database: Db, userId: string, name: string) {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const record = await database.apiToken.create({
    data: { userId, name, prefix: token.slice(0, 12), tokenHash: hashToken(token) },
  });
  return { token, record };
}

/**
 * The user of a (not revoked) API token. Read on every API request, so through the store's
 * prepared statement rather than Prisma (whose query compiler cost more than the rest of the
 * execution read: docs/performance.md).
 */
export async function findUserByToken(store: Pick<Store, "findTokenUser">, token: string): Promise<AuthUser | undefined> {
  if (!TOKEN_PATTERN.test(token)) return undefined;
  return store.findTokenUser(hashToken(token), new Date(), LAST_USED_RESOLUTION_MS);
}

export async function listApiTokens(database: Db, userId: string) {
  return database.apiToken.findMany({
    where: { userId },
    orderBy: { createdAt: "desc" },
    select: { id: true, name: true, prefix: true, createdAt: true, lastUsedAt: true, revokedAt: true },
  });
}

export async function revokeApiToken(database: Db, userId: string, tokenId: string): Promise<boolean> {
  const revoked = await database.apiToken.updateMany({
    where: { id: tokenId, userId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
  return revoked.count === 1;
}
