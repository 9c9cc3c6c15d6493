import "server-only";
import { createHash, randomBytes } from "node:crypto";
import type { ApiTokenRecord, AuthUser, Store } from "@/lib/store/types";

/** Montage API tokens: "mtg_" + 256 random bits, base64url. Only the SHA-256 is stored. */
export const TOKEN_PREFIX = "mtg_";
const TOKEN_PATTERN = /^mtg_[A-Za-z0-9_-]{43}$/;
/** last_used_at is written at most this often per token, so auth does not cost a write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

export function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** A new token for the user: the token itself is returned once, only its hash is stored. */
export async function createApiToken(store: Pick<Store, "insertApiToken">, userId: string, name: string): Promise<{ token: string; record: ApiTokenRecord }> {
  const token = TOKEN_PREFIX + randomBytes(32).toString("base64url");
  const record = await store.insertApiToken({ userId, name, prefix: token.slice(0, 12), tokenHash: hashToken(token) });
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

export async function listApiTokens(store: Pick<Store, "listApiTokens">, userId: string): Promise<ApiTokenRecord[]> {
  return store.listApiTokens(userId);
}

export async function revokeApiToken(store: Pick<Store, "revokeApiToken">, userId: string, tokenId: string): Promise<boolean> {
  return store.revokeApiToken(userId, tokenId, new Date());
}
