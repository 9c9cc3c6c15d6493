import "server-only";
import { ApiError } from "@/lib/api/errors";
import type { Config } from "@/lib/config";

/**
 * Per-user rate limits for the two expensive routes: starting executions (a token bucket) and
 * holding event streams open (a count of concurrent streams). Both answer 429 `rate_limited` with
 * `Retry-After`.
 *
 * The state lives in this process's memory: enough for the embedded default (one server). Behind a
 * load balancer each instance counts on its own, so a user gets up to N × the limit; a shared store
 * (Redis, PostgreSQL) would be needed for a global limit. See docs/reliability.md.
 */

export interface Clock {
  now(): number;
}

const systemClock: Clock = { now: () => Date.now() };

/**
 * A token bucket per key: `capacity` tokens, refilled evenly at `capacity` per `periodMs`. A full
 * bucket is the same as no entry, so full buckets are dropped to keep the map small.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; updatedAt: number }>();

  constructor(
    private readonly capacity: number,
    private readonly periodMs: number,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Takes one token; when none is left, returns the whole seconds until one is. */
  take(key: string): { allowed: true } | { allowed: false; retryAfterSeconds: number } {
    const now = this.clock.now();
    const ratePerMs = this.capacity / this.periodMs;
    const bucket = this.buckets.get(key) ?? { tokens: this.capacity, updatedAt: now };
    bucket.tokens = Math.min(this.capacity, bucket.tokens + (now - bucket.updatedAt) * ratePerMs);
    bucket.updatedAt = now;
    if (bucket.tokens < 1) {
      this.buckets.set(key, bucket);
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerMs / 1000)) };
    }
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.dropFull(now);
    return { allowed: true };
  }

  private dropFull(now: number): void {
    const ratePerMs = this.capacity / this.periodMs;
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.updatedAt) * ratePerMs >= this.capacity) this.buckets.delete(key);
    }
  }
}

/** Counts open slots per key, up to `limit` each. */
export class ConcurrencySlots {
  private readonly open = new Map<string, number>();

  constructor(private readonly limit: number) {}

  /** A release function (safe to call more than once), or undefined when the key's slots are all taken. */
  acquire(key: string): (() => void) | undefined {
    const count = this.open.get(key) ?? 0;
    if (count >= this.limit) return undefined;
    this.open.set(key, count + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.open.get(key) ?? 1) - 1;
      if (left <= 0) this.open.delete(key);
      else this.open.set(key, left);
    };
  }

  count(key: string): number {
    return this.open.get(key) ?? 0;
  }
}

/** Seconds a client refused a stream should wait: streams end with their job, so there is no exact time. */
const STREAM_RETRY_AFTER_SECONDS = 5;

/** The per-user limits of one runtime (lib/server/runtime.ts). */
export class RateLimits {
  private readonly executes: TokenBuckets | undefined;
  private readonly streams: ConcurrencySlots | undefined;
  private readonly uploads: ConcurrencySlots | undefined;

  constructor(private readonly config: Pick<Config, "RATE_LIMIT_EXECUTES_PER_MINUTE" | "RATE_LIMIT_CONCURRENT_STREAMS" | "RATE_LIMIT_CONCURRENT_UPLOADS">) {
    this.executes = config.RATE_LIMIT_EXECUTES_PER_MINUTE > 0 ? new TokenBuckets(config.RATE_LIMIT_EXECUTES_PER_MINUTE, 60_000) : undefined;
    this.streams = config.RATE_LIMIT_CONCURRENT_STREAMS > 0 ? new ConcurrencySlots(config.RATE_LIMIT_CONCURRENT_STREAMS) : undefined;
    this.uploads = config.RATE_LIMIT_CONCURRENT_UPLOADS > 0 ? new ConcurrencySlots(config.RATE_LIMIT_CONCURRENT_UPLOADS) : undefined;
  }

  /**
   * Guard for POST /workflows/execute: one of the user's upload slots while the body arrives, or a
   * 429. Call the returned release when the body has been read (or refused).
   */
  acquireUploadSlot(userId: string): () => void {
    if (!this.uploads) return () => undefined;
    const release = this.uploads.acquire(userId);
    if (release) return release;
    throw new ApiError(
      "rate_limited",
      `Too many uploads at once: the limit is ${this.config.RATE_LIMIT_CONCURRENT_UPLOADS} per user. Retry when one has finished.`,
      { "Retry-After": String(STREAM_RETRY_AFTER_SECONDS) },
    );
  }

  /** Guard for POST /workflows/execute: one token of the user's bucket per request, or a 429. */
  requireExecuteAllowance(userId: string): void {
    const result = this.executes?.take(userId);
    if (!result || result.allowed) return;
    throw new ApiError(
      "rate_limited",
      `Too many executions: the limit is ${this.config.RATE_LIMIT_EXECUTES_PER_MINUTE} per minute. Retry in ${result.retryAfterSeconds} s.`,
      { "Retry-After": String(result.retryAfterSeconds) },
    );
  }

  /**
   * Guard for GET /jobs/:id/stream: takes one of the user's stream slots, or throws a 429. Pass the
   * returned release as the stream's `onEnd`, which calls it once.
   */
  acquireStreamSlot(userId: string): () => void {
    if (!this.streams) return () => undefined;
    const release = this.streams.acquire(userId);
    if (release) return release;
    throw new ApiError(
      "rate_limited",
      `Too many open event streams: the limit is ${this.config.RATE_LIMIT_CONCURRENT_STREAMS} per user. Close one, or retry in ${STREAM_RETRY_AFTER_SECONDS} s.`,
      { "Retry-After": String(STREAM_RETRY_AFTER_SECONDS) },
    );
  }
}
