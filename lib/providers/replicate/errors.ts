import "server-only";
/**
 * Turns what the Replicate SDK throws into the engine's typed errors.
 *
 * The SDK throws `ApiError` (not exported by the package; recognised by name and its `response`) with
 * the body already read into the message: "Request to <url> failed with status 429 Too Many Requests:
 * {json}." The JSON is Replicate's problem document `{title, detail, status}`. A fetch that throws on
 * a write is turned into an answer the SDK does not retry (`withoutRetriedWrites`), recognised here.
 */
import type { Prediction } from "replicate";

import { classifyError, HardError, RetryableError, isHardError, isRetryableError } from "@/lib/workflows/errors";

export const PROVIDER = "replicate";

/** Marks the synthetic 599 answer that stands for a fetch that threw (see `withoutRetriedWrites`). */
export const NETWORK_ERROR_HEADER = "x-montage-network-error";

interface SdkApiError extends Error {
  response: Response;
}

export function isSdkApiError(error: unknown): error is SdkApiError {
  return (
    error instanceof Error &&
    error.name === "ApiError" &&
    typeof (error as { response?: unknown }).response === "object" &&
    (error as { response?: unknown }).response !== null
  );
}

export function apiErrorStatus(error: unknown): number | undefined {
  return isSdkApiError(error) ? error.response.status : undefined;
}

/** Replicate's `detail` (or `title`) from the SDK's error message; the raw body, shortened, if it is not JSON. */
export function apiErrorDetail(error: SdkApiError): string {
  const match = /failed with status \d+[^:]*: ([\s\S]*)\.$/.exec(error.message);
  const body = match?.[1]?.trim() ?? "";
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === "object" && parsed !== null) {
      const { detail, title } = parsed as { detail?: unknown; title?: unknown };
      if (typeof detail === "string" && detail.trim()) return detail.trim();
      if (typeof title === "string" && title.trim()) return title.trim();
    }
  } catch {
    // not JSON (e.g. a load balancer's HTML page): fall through
  }
  return body ? body.slice(0, 300) : `HTTP ${error.response.status}`;
}

/**
 * Seconds to wait before retrying a 429: the `Retry-After` header (seconds or HTTP date) when sent,
 * else the "resets in ~30s" hint in Replicate's message.
 */
export function retryAfterSeconds(headerValue: string | null, detail: string, now = Date.now()): number | undefined {
  if (headerValue) {
    const seconds = Number(headerValue);
    if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds);
    const date = Date.parse(headerValue);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - now) / 1000));
  }
  const hint = /resets in ~?\s*(\d+(?:\.\d+)?)\s*s/i.exec(detail);
  return hint?.[1] !== undefined ? Math.ceil(Number(hint[1])) : undefined;
}

/**
 * Maps an SDK/network failure to RetryableError/HardError. Errors it does not recognise are returned
 * unchanged (the engine's `classifyError` then treats them as hard).
 */
export function mapReplicateError(error: unknown, action: string): Error {
  if (isRetryableError(error) || isHardError(error)) return error;
  if (isSdkApiError(error)) {
    const status = error.response.status;
    const networkError = error.response.headers.get(NETWORK_ERROR_HEADER);
    if (networkError !== null) {
      const reason = networkError.startsWith("TimeoutError") ? "timeout" : "outage";
      return new RetryableError(reason, `Replicate ${action}: network error (${networkError})`, { provider: PROVIDER });
    }
    const detail = apiErrorDetail(error);
    const message = `Replicate ${action} failed (${status}): ${detail}`;
    const options = { provider: PROVIDER, cause: error };
    if (status === 401) return new RetryableError("auth", message, options);
    if (status === 402) return new RetryableError("quota", message, options);
    if (status === 429) {
      const wait = retryAfterSeconds(error.response.headers.get("retry-after"), detail);
      return new RetryableError("rate_limit", message, { ...options, ...(wait !== undefined && { retryAfterSeconds: wait }) });
    }
    if (status >= 500) return new RetryableError("outage", message, options);
    if (status === 422 || status === 400) return new HardError("invalid_input", detail, options);
    if (status === 404) return new HardError("not_found", message, options);
    if (status === 403) return new HardError("forbidden", message, options);
    return new HardError("provider_rejected", message, options);
  }
  const name = error instanceof Error ? error.name : "";
  if (name === "TimeoutError") {
    return new RetryableError("timeout", `Replicate ${action} timed out`, { provider: PROVIDER, cause: error });
  }
  const classified = classifyError(error);
  if (classified.kind === "retryable") {
    return new RetryableError(classified.reason, `Replicate ${action}: ${classified.message}`, {
      provider: PROVIDER,
      cause: error,
    });
  }
  return error instanceof Error ? error : new Error(String(error));
}

// Replicate's safety checker says "flagged as sensitive ... (E005)"; other models say NSFW/safety.
const CONTENT_REJECTED = /\b(nsfw|safety|unsafe|sensitive|flagged|content[ _-]?(policy|filter|moderation|rejected))\b|\(E005\)/i;
// Replicate documents "Prediction interrupted; please retry (code: PA)" as a transient platform failure.
const TRANSIENT_FAILURE = /please retry|\(code: PA\)/i;

/** The error for a prediction that ended `failed`, with Replicate's own `error` text. */
export function predictionFailedError(prediction: Prediction): Error {
  const raw = prediction.error;
  const text =
    typeof raw === "string" && raw.trim() ? raw.trim() : raw == null ? "Prediction failed without an error message" : JSON.stringify(raw);
  const message = `Replicate prediction ${prediction.id} failed: ${text}`;
  if (CONTENT_REJECTED.test(text)) return new HardError("content_rejected", text, { provider: PROVIDER });
  if (TRANSIENT_FAILURE.test(text)) return new RetryableError("outage", message, { provider: PROVIDER });
  return new HardError("prediction_failed", text, { provider: PROVIDER });
}

type FetchLike = (input: Request | string, init?: RequestInit) => Promise<Response>;

/**
 * The SDK retries every request whose fetch throws, POSTs included (its retry loop swallows any
 * error): a create whose answer was lost to a reset connection would be sent again and could run, and
 * bill, several times. For writes, a thrown fetch becomes a synthetic 599 answer instead, which the SDK
 * does not retry and reports as an ApiError that `mapReplicateError` recognises by its header.
 */
export function withoutRetriedWrites(fetchImpl: FetchLike): FetchLike {
  return async (input, init) => {
    try {
      return await fetchImpl(input, init);
    } catch (error) {
      if ((init?.method ?? "GET").toUpperCase() === "GET") throw error;
      const name = error instanceof Error ? error.name : "Error";
      const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
      const detail = `${name}${typeof code === "string" ? ` ${code}` : ""}`;
      return new Response(null, { status: 599, statusText: "Network Error", headers: { [NETWORK_ERROR_HEADER]: detail } });
    }
  };
}
