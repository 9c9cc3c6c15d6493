import "server-only";
/**
 * Replicate webhook verification (Standard Webhooks), stricter than the SDK's `validateWebhook`:
 * constant-time comparison and a ±5 minute timestamp window against replays.
 *
 * Signed content: `${webhook-id}.${webhook-timestamp}.${raw body}`; signature: base64 HMAC-SHA256 keyed
 * by the base64-decoded secret (without its `whsec_` prefix); the header holds space-separated
 * `v1,<base64>` entries (several during secret rotation), any one of which may match.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type Replicate from "replicate";
import type { Prediction } from "replicate";

import { mapReplicateError } from "./errors";

const TOLERANCE_SECONDS = 5 * 60;

export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyReplicateWebhookInput {
  headers: WebhookHeaders;
  /** The body exactly as received; re-serialised JSON will not verify. */
  rawBody: string | Uint8Array;
  /** "whsec_<base64>" from GET /webhooks/default/secret. */
  secret: string;
  now?: Date;
}

export type WebhookRejection =
  | "missing_headers"
  | "invalid_timestamp"
  | "timestamp_too_old"
  | "timestamp_too_new"
  | "invalid_signature"
  | "invalid_body";

export type VerifyReplicateWebhookResult =
  | { ok: true; webhookId: string; timestamp: number; prediction: Prediction }
  | { ok: false; reason: WebhookRejection };

export function verifyReplicateWebhook(input: VerifyReplicateWebhookInput): VerifyReplicateWebhookResult {
  const id = header(input.headers, "webhook-id");
  const timestampText = header(input.headers, "webhook-timestamp");
  const signatureHeader = header(input.headers, "webhook-signature");
  if (!id || !timestampText || !signatureHeader) return { ok: false, reason: "missing_headers" };

  if (!/^\d{1,12}$/.test(timestampText)) return { ok: false, reason: "invalid_timestamp" };
  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor((input.now ?? new Date()).getTime() / 1000);
  if (timestamp < nowSeconds - TOLERANCE_SECONDS) return { ok: false, reason: "timestamp_too_old" };
  if (timestamp > nowSeconds + TOLERANCE_SECONDS) return { ok: false, reason: "timestamp_too_new" };

  const body = typeof input.rawBody === "string" ? Buffer.from(input.rawBody, "utf8") : Buffer.from(input.rawBody);
  const expected = createHmac("sha256", decodeSecret(input.secret))
    .update(`${id}.${timestampText}.`)
    .update(body)
    .digest();
  const matches = signatureHeader
    .split(" ")
    .filter(Boolean)
    .some((entry) => {
      const [version, signature] = entry.split(",", 2);
      if (version !== "v1" || !signature) return false;
      const candidate = Buffer.from(signature, "base64");
      return candidate.length === expected.length && timingSafeEqual(candidate, expected);
    });
  if (!matches) return { ok: false, reason: "invalid_signature" };

  let prediction: unknown;
  try {
    prediction = JSON.parse(body.toString("utf8"));
  } catch {
    return { ok: false, reason: "invalid_body" };
  }
  if (!isPrediction(prediction)) return { ok: false, reason: "invalid_body" };
  return { ok: true, webhookId: id, timestamp, prediction };
}

const secretCache = new WeakMap<Replicate, Promise<string>>();

/**
 * The account's webhook signing secret (GET /webhooks/default/secret), cached per client. Pass
 * `refresh: true` once when a signature fails with the cached secret, in case it was rotated.
 */
export function fetchWebhookSecret(client: Replicate, options: { refresh?: boolean } = {}): Promise<string> {
  const cached = secretCache.get(client);
  if (cached && !options.refresh) return cached;
  const pending = client.webhooks.default.secret
    .get({ signal: AbortSignal.timeout(15_000) })
    .then((answer) => {
      if (typeof answer?.key !== "string" || !answer.key) throw new Error("Replicate returned no webhook secret");
      return answer.key;
    })
    .catch((error: unknown) => {
      secretCache.delete(client); // never cache a failure
      throw mapReplicateError(error, "webhook secret fetch");
    });
  secretCache.set(client, pending);
  return pending;
}

function decodeSecret(secret: string): Buffer {
  return Buffer.from(secret.startsWith("whsec_") ? secret.slice("whsec_".length) : secret, "base64");
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const value = headers[name] ?? Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
  return Array.isArray(value) ? value[0] : value;
}

function isPrediction(value: unknown): value is Prediction {
  if (typeof value !== "object" || value === null) return false;
  const { id, status } = value as { id?: unknown; status?: unknown };
  return typeof id === "string" && typeof status === "string";
}
