/**
 * What `POST /api/webhooks/replicate` does behind its route handler: verify the delivery (Standard
 * Webhooks, ±5 minutes, constant time; see ./webhook), process each `webhook-id` once (a row in
 * webhook_deliveries), and announce the completed prediction (`onPredictionCompleted`).
 *
 * It never writes job state. A delivery only wakes whoever waits for the prediction; the engine run
 * that owns the step reads the prediction and records the outcome. So a late, repeated, out-of-order
 * or unknown delivery can never move a job backwards.
 */
import type { Prediction } from "replicate";

import { ApiError } from "@/lib/api/errors";
import { config } from "@/lib/config";
import { db, type Db } from "@/lib/db/client";
import { log } from "@/lib/log";
import { providers, type ProviderRuntime } from "@/lib/providers";
import { fetchWebhookSecret, verifyReplicateWebhook, type VerifyReplicateWebhookResult } from "./webhook";
import { announcePredictionCompleted } from "@/lib/inngest/prediction-wait";

const SOURCE = "replicate";
const TERMINAL_STATUSES = new Set(["succeeded", "failed", "canceled", "aborted"]);
/** A fetched secret is fetched again on a bad signature (rotation), at most this often. */
const SECRET_REFRESH_INTERVAL_MS = 60_000;
/** Deliveries are remembered this long: Replicate's retries come within minutes. */
const DELIVERY_RETENTION_MS = 24 * 60 * 60_000;
const PRUNE_INTERVAL_MS = 60 * 60_000;

export type WebhookOutcome = "processed" | "duplicate" | "ignored";

export interface ReceiveWebhookInput {
  headers: Headers;
  /** The body exactly as received: the signature covers its bytes. */
  rawBody: Uint8Array;
}

export interface ReceiveWebhookDeps {
  database?: Db;
  runtime?: ProviderRuntime;
  /** REPLICATE_WEBHOOK_SECRET; when absent the secret is fetched from Replicate (GET /webhooks/default/secret). */
  configuredSecret?: string | undefined;
}

/** Throws ApiError("unauthorized") for a delivery that does not verify. */
export async function receiveReplicateWebhook(input: ReceiveWebhookInput, deps: ReceiveWebhookDeps = {}): Promise<WebhookOutcome> {
  const runtime = deps.runtime ?? providers();
  const database = deps.database ?? db();
  const configuredSecret = "configuredSecret" in deps ? deps.configuredSecret : config().REPLICATE_WEBHOOK_SECRET;

  const verified = await verify(input, runtime, configuredSecret);
  if (!verified.ok) {
    log.warn("replicate webhook refused", { reason: verified.reason, webhook_id: input.headers.get("webhook-id") ?? undefined });
    throw new ApiError("unauthorized", `Webhook verification failed (${verified.reason}).`);
  }
  const { webhookId, prediction } = verified;
  // `start`, `output` and `logs` events carry nothing Montage acts on (it asks for `completed` only).
  if (!TERMINAL_STATUSES.has(prediction.status)) return "ignored";
  if (!(await claimDelivery(database, webhookId))) {
    log.debug("replicate webhook already processed", { webhook_id: webhookId, prediction_id: prediction.id });
    return "duplicate";
  }
  try {
    await onPredictionCompleted(prediction, { webhookId }, runtime);
  } catch (error) {
    // Forget the delivery so that Replicate's retry of it is processed, not skipped as a duplicate.
    await database.webhookDelivery.deleteMany({ where: { id: webhookId } }).catch(() => undefined);
    throw error;
  }
  log.info("replicate webhook processed", { webhook_id: webhookId, prediction_id: prediction.id, status: prediction.status });
  return "processed";
}

export interface PredictionCompletedEvent {
  prediction_id: string;
  status: string;
}

/** Sends the event on to a driver that runs steps outside this process; a rejection makes the route answer 500 (Replicate retries). */
export type PredictionCompletedForwarder = (event: PredictionCompletedEvent, meta: { webhookId: string }) => Promise<void>;

const globalForForwarder = globalThis as unknown as { montagePredictionCompletedForwarder?: PredictionCompletedForwarder };

/** The default forwarder: under the Inngest driver, an event that resumes the run waiting for the prediction (a no-op in-process). */
const forwardToInngest: PredictionCompletedForwarder = async (event) => {
  await announcePredictionCompleted({ id: event.prediction_id, status: event.status });
};

/**
 * Replaces (or, with undefined, restores) the forwarder of completed predictions; the default
 * sends the Inngest event when the Inngest driver is active. Kept on globalThis: Next.js bundles
 * this route and the server start-up separately.
 */
export function setPredictionCompletedForwarder(forwarder: PredictionCompletedForwarder | undefined): void {
  globalForForwarder.montagePredictionCompletedForwarder = forwarder;
}

/**
 * THE single place where a completed Replicate prediction is announced, once per verified delivery:
 * it wakes the runs waiting for it in this process (in-process driver), then hands it to the
 * registered forwarder (another driver, e.g. Inngest). Nothing here writes job state.
 */
export async function onPredictionCompleted(
  prediction: Prediction,
  meta: { webhookId: string },
  runtime: ProviderRuntime = providers(),
): Promise<void> {
  runtime.replicate?.waiters.deliver(prediction);
  const forward = globalForForwarder.montagePredictionCompletedForwarder ?? forwardToInngest;
  await forward({ prediction_id: prediction.id, status: prediction.status }, meta);
}

const lastSecretRefresh = new WeakMap<object, number>();

async function verify(
  input: ReceiveWebhookInput,
  runtime: ProviderRuntime,
  configuredSecret: string | undefined,
): Promise<VerifyReplicateWebhookResult> {
  const check = (secret: string) => verifyReplicateWebhook({ headers: input.headers, rawBody: input.rawBody, secret });
  if (configuredSecret) return check(configuredSecret);

  const client = runtime.replicate?.models.client;
  if (!client) throw new ApiError("not_found", "Replicate webhooks are not enabled on this server.");
  const result = check(await fetchWebhookSecret(client));
  if (result.ok || result.reason !== "invalid_signature") return result;
  // The secret may have been rotated since it was fetched: fetch it again, but not for every bad request.
  const now = Date.now();
  if (now - (lastSecretRefresh.get(client) ?? 0) < SECRET_REFRESH_INTERVAL_MS) return result;
  lastSecretRefresh.set(client, now);
  return check(await fetchWebhookSecret(client, { refresh: true }));
}

let lastPruneAt = 0;

/** True when this delivery is new; false when its webhook-id was processed before. */
async function claimDelivery(database: Db, webhookId: string): Promise<boolean> {
  try {
    await database.webhookDelivery.create({ data: { id: webhookId, source: SOURCE } });
  } catch (error) {
    if ((error as { code?: unknown }).code === "P2002") return false;
    throw error;
  }
  const now = Date.now();
  if (now - lastPruneAt > PRUNE_INTERVAL_MS) {
    lastPruneAt = now;
    void database.webhookDelivery
      .deleteMany({ where: { source: SOURCE, receivedAt: { lt: new Date(now - DELIVERY_RETENTION_MS) } } })
      .catch((error: unknown) => log.warn("could not prune old webhook deliveries", { error }));
  }
  return true;
}
