import "server-only";
import { ApiError, isApiError } from "@/lib/api/errors";

/**
 * Request bodies read with a ceiling: the declared Content-Length is checked first (a body that
 * announces more than the limit is refused before one byte of it is read), then the bytes are
 * counted as they stream in, and the read stops at the first chunk past the limit. Either way the
 * answer is 413 `payload_too_large` and at most `maxBytes` (plus one chunk) was ever held.
 */

/** The limits of the routes that read a body into memory, in bytes. */
export const BODY_LIMITS = {
  /** Sign-up, API tokens: a few small JSON fields. */
  smallJson: 4 * 1024,
  /** next-auth's form posts (sign-in: email, password, CSRF token, callback URL). */
  authForm: 8 * 1024,
  /**
   * Replicate's prediction webhook: the prediction object (input, output URLs, logs, metrics). Real
   * ones are a few KB; logs can grow, so the margin is large.
   */
  replicateWebhook: 1024 * 1024,
  /**
   * Requests from Inngest to /api/inngest carry the run's state: events plus every step's output,
   * which Inngest documents as at most 32 MB per run (docs/inngest.md); 1 MB on top for its framing.
   */
  inngest: 33 * 1024 * 1024,
} as const;

/**
 * What of a refused body is still read, and dropped, after the answer (a lingering close): up to
 * 2 s or 64 MiB, the bytes counted only after half a second (the client has its answer by then). An
 * honest client that sent a little too much keeps its connection; a body left unread would stall it.
 */
export const DISCARD_AFTER_REFUSAL = { bytes: 64 * 1024 * 1024, ms: 2_000, graceMs: 500 } as const;

function tooLarge(maxBytes: number): ApiError {
  return new ApiError("payload_too_large", `The request body is larger than ${maxBytes} bytes.`);
}

/** Refuses (413) a request whose Content-Length announces more than `maxBytes`. */
export function checkDeclaredLength(request: Request, maxBytes: number): void {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > maxBytes) throw tooLarge(maxBytes);
}

/** The whole body, at most `maxBytes` of it (exactly `maxBytes` is accepted); 413 past it. */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<Uint8Array<ArrayBuffer>> {
  checkDeclaredLength(request, maxBytes);
  if (!request.body) return new Uint8Array(new ArrayBuffer(0));
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > maxBytes) {
        // The rest is never read: the client is answered and its connection closed.
        void reader.cancel().catch(() => undefined);
        throw tooLarge(maxBytes);
      }
      chunks.push(value);
    }
  } catch (error) {
    if (isApiError(error)) throw error;
    throw new ApiError("invalid_request", "The request body was interrupted.");
  }
  const body = new Uint8Array(new ArrayBuffer(size));
  let offset = 0;
  for (const chunk of chunks) {
    body.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return body;
}

/** The body as UTF-8 text, within `maxBytes`. */
export async function readTextLimited(request: Request, maxBytes: number): Promise<string> {
  return new TextDecoder().decode(await readBodyLimited(request, maxBytes));
}

/** The body parsed as JSON, within `maxBytes`; 400 `invalid_json` when it is not JSON. */
export async function readJsonLimited(request: Request, maxBytes: number, hint: string): Promise<unknown> {
  const text = await readTextLimited(request, maxBytes);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError("invalid_json", hint);
  }
}
