import "server-only";
/**
 * The errors that steer a workflow's control flow. A step handler, or a provider it calls, throws
 * one of these; anything else is classified by `classifyError`.
 *
 * They are recognised by a brand, not by `instanceof`: Next.js bundles route handlers and the
 * server start-up separately, each with its own copy of these classes, and a cancel raised by a
 * route must still be recognised by a runner started from another bundle.
 */

export const RETRY_REASONS = ["quota", "rate_limit", "outage", "auth", "timeout"] as const;
export type RetryReason = (typeof RETRY_REASONS)[number];

/** Shared by every copy of this module in the process (Symbol.for is process-wide). */
const KIND = Symbol.for("montage.workflow-error-kind");
type Kind = "retryable" | "hard" | "canceled" | "deadline";

function hasKind(error: unknown, kind: Kind): boolean {
  return typeof error === "object" && error !== null && (error as { [KIND]?: unknown })[KIND] === kind;
}

interface WorkflowErrorOptions {
  cause?: unknown;
  /** Which provider failed ("local-models", "replicate", "cloudinary", ...); feeds the health gate. */
  provider?: string;
}

/** A failure that may heal by itself: the job parks as `pending_retry` and is resumed later. */
export class RetryableError extends Error {
  override readonly name = "RetryableError";
  readonly [KIND] = "retryable";
  readonly reason: RetryReason;
  /** Seconds the provider asked us to wait (Retry-After), when it said so. */
  readonly retryAfterSeconds: number | undefined;
  readonly provider: string | undefined;
  /**
   * True when the step never reached the provider (its circuit is open): the job parks without
   * spending one of its attempts.
   */
  readonly parkOnly: boolean;

  constructor(reason: RetryReason, message: string, options: WorkflowErrorOptions & { retryAfterSeconds?: number; parkOnly?: boolean } = {}) {
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
  readonly [KIND] = "hard";
  /** Machine-readable code shown to API clients, e.g. "invalid_input", "content_rejected". */
  readonly code: string;
  readonly provider: string | undefined;

  constructor(code: string, message: string, options: WorkflowErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.provider = options.provider;
  }
}

/** Raised into a step when its job was canceled; never retried, never recorded as a failure. */
export class CanceledError extends Error {
  override readonly name = "CanceledError";
  readonly [KIND] = "canceled";
  constructor(message = "Canceled by user", options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

/**
 * The abort reason of a step stopped by a clock: its own `timeout_seconds` ("step") or the run's
 * `deadline_seconds` ("run"). Nobody waits for the result any more, so providers cancel the paid
 * work they started (a Replicate prediction) instead of leaving it to re-attach to.
 */
export class DeadlineError extends Error {
  override readonly name = "DeadlineError";
  readonly [KIND] = "deadline";
  constructor(
    readonly scope: "step" | "run",
    message: string,
  ) {
    super(message);
  }
}

export const isRetryableError = (error: unknown): error is RetryableError => hasKind(error, "retryable");
export const isDeadlineError = (error: unknown): error is DeadlineError => hasKind(error, "deadline");
export const isHardError = (error: unknown): error is HardError => hasKind(error, "hard");
export const isCanceledError = (error: unknown): error is CanceledError => hasKind(error, "canceled");

export type ClassifiedError =
  | { kind: "retryable"; reason: RetryReason; message: string; retryAfterSeconds?: number; provider?: string; parkOnly?: boolean }
  | { kind: "hard"; code: string; message: string; provider?: string }
  | { kind: "canceled"; message: string }
  /** Nobody typed it: a bug or an unforeseen failure. Its message stays in the logs, never in the job. */
  | { kind: "unknown"; error: unknown };

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
 * back later; the message names the error code, not the raw text, which may carry internal
 * addresses); everything else is unknown, and fails the job as a hard error (retrying a bug or
 * bad data only burns attempts).
 */
export function classifyError(error: unknown): ClassifiedError {
  if (isCanceledError(error)) return { kind: "canceled", message: error.message };
  if (isRetryableError(error)) {
    return {
      kind: "retryable",
      reason: error.reason,
      message: error.message,
      ...(error.retryAfterSeconds !== undefined && { retryAfterSeconds: error.retryAfterSeconds }),
      ...(error.provider !== undefined && { provider: error.provider }),
      ...(error.parkOnly && { parkOnly: true }),
    };
  }
  // The engine routes its own clocks' aborts by the step's config; one thrown on from elsewhere is a timeout.
  if (isDeadlineError(error)) return { kind: "retryable", reason: "timeout", message: error.message };
  if (isHardError(error)) {
    return { kind: "hard", code: error.code, message: error.message, ...(error.provider !== undefined && { provider: error.provider }) };
  }
  if (error instanceof Error && error.name === "TimeoutError") return { kind: "retryable", reason: "timeout", message: "The request timed out" };
  const code = errorCode(error);
  if (code !== undefined && NETWORK_ERROR_CODES.has(code)) return { kind: "retryable", reason: "outage", message: `Network error (${code})` };
  if (error instanceof TypeError && error.message === "fetch failed") return { kind: "retryable", reason: "outage", message: "Network error: fetch failed" };
  return { kind: "unknown", error };
}
