import "server-only";
/**
 * When a parked job is next due: exponential backoff from the base delay, capped, with ±20%
 * jitter so that jobs parked together do not all hit a recovering provider at once. A provider's
 * own Retry-After wins when it is longer.
 */
export function nextRetryDelaySeconds(options: {
  retryCount: number;
  baseSeconds: number;
  maxSeconds?: number;
  retryAfterSeconds?: number;
  random?: () => number;
}): number {
  const { retryCount, baseSeconds, maxSeconds = 3600, retryAfterSeconds, random = Math.random } = options;
  const exponential = Math.min(maxSeconds, baseSeconds * 2 ** Math.max(0, retryCount - 1));
  const jittered = exponential * (0.8 + 0.4 * random());
  return Math.max(jittered, retryAfterSeconds ?? 0);
}
