import "server-only";
import { ApiError } from "@/lib/api/errors";
import { TokenBuckets, type Clock } from "@/lib/api/rate-limit";
import type { Config } from "@/lib/config";

/**
 * Limits on the password routes, whose hashing (scrypt, about 0.2 s of CPU each, in a pool of
 * threads: lib/auth/password-hasher.ts) makes them the cheapest way to load the server: sign-up and sign-in attempts per client address
 * and per email address (token buckets), and per account a delay once the allowed failed sign-ins
 * are used up (5 s, doubling with each further failure, up to 60 s; a success clears it). Checked before any
 * hashing. Answers 429 `rate_limited` with Retry-After.
 *
 * Per process, in memory, like the other limits (lib/api/rate-limit.ts): behind a load balancer
 * each instance counts on its own, and a restart forgets the counts. See docs/reliability.md.
 */
const FIRST_FAILURE_DELAY_MS = 5_000;
const MAX_FAILURE_DELAY_MS = 60_000;

export class AuthThrottle {
  private readonly perAddress: TokenBuckets | undefined;
  private readonly perEmail: TokenBuckets | undefined;
  private readonly failures = new Map<string, { count: number; blockedUntil: number }>();

  constructor(
    private readonly config: Pick<Config, "RATE_LIMIT_AUTH_PER_IP_PER_MINUTE" | "RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE" | "SIGNIN_FAILURES_BEFORE_DELAY">,
    private readonly clock: Clock = { now: () => Date.now() },
  ) {
    this.perAddress = config.RATE_LIMIT_AUTH_PER_IP_PER_MINUTE > 0 ? new TokenBuckets(config.RATE_LIMIT_AUTH_PER_IP_PER_MINUTE, 60_000, clock) : undefined;
    this.perEmail = config.RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE > 0 ? new TokenBuckets(config.RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE, 60_000, clock) : undefined;
  }

  /** Guard for one sign-up or sign-in attempt from `address` for `email` (normalised): returns, or throws a 429. */
  requireAttempt(address: string, email: string | undefined): void {
    const byAddress = this.perAddress?.take(address);
    if (byAddress && !byAddress.allowed) throw limited(`Too many sign-in and sign-up attempts from your address. Retry in ${byAddress.retryAfterSeconds} s.`, byAddress.retryAfterSeconds);
    if (email === undefined) return;
    const blocked = this.failures.get(email);
    const now = this.clock.now();
    if (blocked && blocked.blockedUntil > now) {
      const seconds = Math.ceil((blocked.blockedUntil - now) / 1000);
      throw limited(`Too many failed sign-ins for this account. Retry in ${seconds} s.`, seconds);
    }
    const byEmail = this.perEmail?.take(email);
    if (byEmail && !byEmail.allowed) throw limited(`Too many attempts for this email address. Retry in ${byEmail.retryAfterSeconds} s.`, byEmail.retryAfterSeconds);
  }

  /** A failed sign-in for `email`: once the allowed failures are used up, the account waits before its next attempt. */
  recordFailure(email: string): void {
    const entry = this.failures.get(email) ?? { count: 0, blockedUntil: 0 };
    entry.count += 1;
    const over = entry.count - this.config.SIGNIN_FAILURES_BEFORE_DELAY;
    if (over >= 0) entry.blockedUntil = this.clock.now() + Math.min(MAX_FAILURE_DELAY_MS, FIRST_FAILURE_DELAY_MS * 2 ** over);
    this.failures.set(email, entry);
    if (this.failures.size > 10_000) this.dropExpired();
  }

  recordSuccess(email: string): void {
    this.failures.delete(email);
  }

  private dropExpired(): void {
    const now = this.clock.now();
    for (const [email, entry] of this.failures) if (entry.blockedUntil + MAX_FAILURE_DELAY_MS < now) this.failures.delete(email);
  }
}

function limited(message: string, retryAfterSeconds: number): ApiError {
  return new ApiError("rate_limited", message, { "Retry-After": String(Math.max(1, retryAfterSeconds)) });
}
