/**
 * Typed errors that steer a workflow's control flow. A step handler (or a provider it calls)
 * throws one of these; anything else is classified by `classifyError`.
 */

export const RETRY_REASONS = ["quota", "rate_limit", "outage", "auth", "timeout"] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

interface WorkflowErrorOptions {
  cause?: unknown;
  /** Which provider failed ("local-models", "replicate", "cloudinary", ...); feeds the health gate. */
  provider?: string;
}

/** A failure that may heal by itself: the job parks as `pending_retry` and is resumed later. */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  readonly reason: RetryReason;
  /** Seconds the provider asked us to wait (Retry-After), when it said so. */
  readonly retryAfterSeconds: number | undefined;
  readonly provider: string | undefined;
  /**
   * True when the step never reached the provider (its circuit is open): the job parks without
   * spending one of its attempts.
   */
  readonly parkOnly: boolean;

  constructor(
    reason: RetryReason,
    message: string,
    options: WorkflowErrorOptions & { retryAfterSeconds?: number; parkOnly?: boolean } = {},
  ) {
    super(message, { cause: options.cause });
    this.reason = reason;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.provider = options.provider;
    this.parkOnly = options.parkOnly ?? false;
  }
}

/** A failure that will not heal by waiting (invalid input, content rejected): the job fails. */
export class HardError extends Error {
  override readonly name = "HardError";
  /** Machine-readable code shown to API clients, e.g. "invalid_input", "content_rejected". */
  readonly code: string;
  readonly provider: string | undefined;

  constructor(code: string, message: string, options: WorkflowErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
  }
}

/** Thrown into a step when its job was canceled; never retried, never recorded as a failure. */
export class CanceledError extends Error {
  override readonly name = "CanceledError";
  constructor(message = "Canceled by user") {
    super(message);
  }
}

export type ClassifiedError =
  | { kind: "retryable"; reason: RetryReason; message: string; retryAfterSeconds?: number; provider?: string; parkOnly?: boolean }
  | { kind: "hard"; code: string; message: string; provider?: string }
  | { kind: "canceled"; message: string };

const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ENETUNREACH",
  "EHOSTUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_SOCKET",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
]);

function errorCode(error: unknown): string | undefined {
  if (typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string") return code;
  const cause = (error as { cause?: unknown }).cause;
  return cause === error ? undefined : errorCode(cause);
}

/**
 * The rule for errors nobody typed: network errors and timeouts are retryable (the provider may be
 * back later), everything else is hard (retrying a bug or bad data only burns attempts).
 */
export function classifyError(error: unknown): ClassifiedError {
  if (error instanceof CanceledError) return { kind: "canceled", message: error.message };
  if (error instanceof RetryableError) {
    return {
      kind: "retryable",
      reason: error.reason,
      message: error.message,
      ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
      ...(error.provider !== undefined && { provider: error.provider }),
      ...(error.parkOnly && { parkOnly: true }),
    };
  }
  if (error instanceof HardError) {
    return {
      kind: "hard",
      code: error.code,
      message: error.message,
      ...(error.provider !== undefined && { provider: error.provider }),
    };
  }
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") return { kind: "retryable", reason: "timeout", message };
  const code = errorCode(error);
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) {
    return { kind: "retryable", reason: "outage", message: `Network error (${code}): ${message}` };
  }
  if (error instanceof TypeError && message === "fetch failed") {
    return { kind: "retryable", reason: "outage", message: "Network error: fetch failed" };
  }
  return { kind: "hard", code: "step_failed", message };
}
