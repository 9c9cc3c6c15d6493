import "server-only";
import { createHash } from "node:crypto";
import { ApiError } from "@/lib/api/errors";
import type { IdempotencyRecord, IdempotentResponse, Store } from "@/lib/store/types";

/** How long a key is kept: a client retrying within a day gets the original answer. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The header that marks an answer as the replay of an earlier request with the same key (Stripe's name). */
export const REPLAYED_HEADER = "Idempotent-Replayed";

/** What a route answers: a fresh answer, or the original one replayed for the same key. */
export interface Answer extends IdempotentResponse {
  replayed: boolean;
}

/** The answer as a Response: JSON, with the replay header when it is one. */
export function answerResponse(answer: Answer): Response {
  return Response.json(answer.body, { status: answer.status, headers: answer.replayed ? { [REPLAYED_HEADER]: "true" } : {} });
}

// Visible ASCII only: a key is an opaque token the client made (a UUID, say), never text to render.
const KEY_PATTERN = /^[\x21-\x7e]{1,255}$/;

/** The request's Idempotency-Key, checked; undefined without one. */
export function idempotencyKeyOf(request: Request): string | undefined {
  const key = request.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!KEY_PATTERN.test(key)) throw new ApiError("invalid_request", "Idempotency-Key must be 1 to 255 visible ASCII characters (a UUID, for example).");
  return key;
}

/** A request's identity for its key: SHA-256 over its parts, each length-prefixed so no two lists of parts collide. */
export function requestHash(parts: (string | Buffer)[]): string {
  const hash = createHash("sha256");
  for (const part of parts) {
    const bytes = typeof part === "string" ? Buffer.from(part, "utf8") : part;
    hash.update(`${bytes.length}:`).update(bytes);
  }
  return hash.digest("hex");
}

/** The answer for a key that was already taken: the original answer for the same request, else a 4xx. */
export function replayOf(existing: IdempotencyRecord, hash: string): Answer {
  if (existing.requestHash !== hash) {
    throw new ApiError("idempotency_key_reused", "This Idempotency-Key was used for a different request in the last 24 hours. Use a new key for a new request.");
  }
  if (!existing.response) throw new ApiError("wrong_state", "A request with this Idempotency-Key is still in progress. Try again in a moment.");
  return { ...existing.response, replayed: true };
}

/**
 * Runs `act` once per key: the first request claims the key (the store's primary key decides
 * between racing ones) and its answer is kept; a later one with the same request gets that answer.
 * A request that fails answers its error and frees the key, so it may be sent again.
 */
export async function onceForKey(
  store: Store,
  claim: { userId: string; key: string | undefined; requestHash: string; jobId: string | null },
  act: () => Promise<IdempotentResponse>,
): Promise<Answer> {
  if (claim.key === undefined) return { ...(await act()), replayed: false };
  const now = new Date();
  const key = claim.key;
  const existing = await store.claimIdempotencyKey({ ...claim, key, response: null, now, expiresAt: new Date(now.getTime() + IDEMPOTENCY_TTL_MS) });
  if (existing) return replayOf(existing, claim.requestHash);
  let response: IdempotentResponse;
  try {
    response = await act();
  } catch (error) {
    await store.releaseIdempotencyKey(claim.userId, key);
    throw error;
  }
  await store.completeIdempotencyKey(claim.userId, key, response);
  return { ...response, replayed: false };
}
