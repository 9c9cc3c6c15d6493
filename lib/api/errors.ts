import "server-only";
import type { Logger } from "@/lib/log";

/** The closed map from error code to HTTP status. Every error response uses one of these codes. */
export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_form: 400,
  invalid_json: 400,
  unauthorized: 401,
  budget_exceeded: 402,
  forbidden: 403,
  not_found: 404,
  request_timeout: 408,
  wrong_state: 409,
  workflow_changed: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  invalid_input: 422,
  idempotency_key_reused: 422,
  rate_limited: 429,
  internal_error: 500,
  /** The server refuses work it cannot start soon (the password-hashing pool is full), with Retry-After. */
  server_busy: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string };
}

/** Process-wide (Symbol.for): an ApiError thrown by code of another bundle is still recognised. */
const API_ERROR = Symbol.for("montage.api-error");

/**
 * Thrown by guards and domain functions; turned into the one error shape by `errorResponse`.
 * Recognised by a brand, not `instanceof`: the runtime's services (e.g. the rate limits) may come
 * from another Next.js bundle's copy of this class than the route that catches the error.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly [API_ERROR] = true;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export function isApiError(error: unknown): error is ApiError {
  return typeof error === "object" && error !== null && (error as { [API_ERROR]?: unknown })[API_ERROR] === true;
}

export function errorResponse(error: unknown, logger: Logger, context: Record<string, unknown> = {}): Response {
  if (isApiError(error)) {
    const body: ErrorBody = { success: false, error: { code: error.code, message: error.message } };
    return Response.json(body, { status: error.status, headers: error.headers });
  }
  // Unknown errors are logged with context and answered with a message that leaks nothing.
  logger.error("unhandled error in request", { ...context, err: error });
  const body: ErrorBody = { success: false, error: { code: "internal_error", message: "Something went wrong on our side. Please try again." } };
  return Response.json(body, { status: 500 });
}
