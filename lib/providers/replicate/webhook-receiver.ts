import "server-only";
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
import type { Logger } from "@/lib/log";
import type { ReplicateRuntime } from "@/lib/providers";
import type { Store } from "@/lib/store/types";
import { fetchWebhookSecret, verifyReplicateWebhook, type VerifyReplicateWebhookResult } from "./webhook";

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

export interface PredictionCompletedEvent {
  prediction_id: string;
  status: string;
}

/** Sends the event on to a driver that runs steps outside this process; a rejection makes the route answer 500 (Replicate retries). */
export type PredictionCompletedForwarder = (event: PredictionCompletedEvent, meta: { webhookId: string }) => Promise<void>;

export interface ReplicateWebhookReceiverOptions {
  /** Remembers the deliveries already processed. */
  store: Pick<Store, "claimWebhookDelivery" | "forgetWebhookDelivery" | "deleteWebhookDeliveries">;
  /** Set when Replicate runs the models (no webhooks to receive otherwise). */
  replicate: ReplicateRuntime | undefined;
  /** REPLICATE_WEBHOOK_SECRET; when absent the secret is fetched from Replicate (GET /webhooks/default/secret). */
  configuredSecret: string | undefined;
  /** Under the Inngest driver, sends the event that resumes the run waiting for the prediction; a no-op in-process. */
  forward: PredictionCompletedForwarder;
  logger: Logger;
}

/** One per runtime (lib/server/runtime.ts): it remembers when it last pruned and refreshed the secret. */
export class ReplicateWebhookReceiver {
  private lastPruneAt = 0;
  private lastSecretRefresh = 0;

  constructor(private readonly options: ReplicateWebhookReceiverOptions) {}

  /** Throws ApiError("unauthorized") for a delivery that does not verify. */
  async receive(input: ReceiveWebhookInput): Promise<WebhookOutcome> {
    const { logger } = this.options;
    const verified = await this.verify(input);
    if (!verified.ok) {
      logger.warn("replicate webhook refused", { reason: verified.reason, webhook_id: input.headers.get("webhook-id") ?? undefined });
      throw new ApiError("unauthorized", `Webhook verification failed (${verified.reason}).`);
    }
    const { webhookId, prediction } = verified;
    // `start`, `output` and `logs` events carry nothing Montage acts on (it asks for `completed` only).
    if (!TERMINAL_STATUSES.has(prediction.status)) return "ignored";
    if (!(await this.claimDelivery(webhookId))) {
      logger.debug("replicate webhook already processed", { webhook_id: webhookId, prediction_id: prediction.id });
      return "duplicate";
    }
    try {
      await this.onPredictionCompleted(prediction, { webhookId });
    } catch (error) {
      // Forget the delivery so that Replicate's retry of it is processed, not skipped as a duplicate.
      await this.options.store.forgetWebhookDelivery(webhookId).catch(() => undefined);
      throw error;
    }
    logger.info("replicate webhook processed", { webhook_id: webhookId, prediction_id: prediction.id, status: prediction.status });
    return "processed";
  }

  /**
   * THE single place where a completed Replicate prediction is announced, once per verified delivery:
   * it wakes the runs waiting for it in this process (in-process driver), then hands it to the
   * forwarder (another driver, e.g. Inngest). Nothing here writes job state.
   */
  async onPredictionCompleted(prediction: Prediction, meta: { webhookId: string }): Promise<void> {
    this.options.replicate?.waiters.deliver(prediction);
    await this.options.forward({ prediction_id: prediction.id, status: prediction.status }, meta);
  }

  private async verify(input: ReceiveWebhookInput): Promise<VerifyReplicateWebhookResult> {
    const check = (secret: string) => verifyReplicateWebhook({ headers: input.headers, rawBody: input.rawBody, secret });
    if (this.options.configuredSecret) return check(this.options.configuredSecret);

    const client = this.options.replicate?.models.client;
    if (!client) throw new ApiError("not_found", "Replicate webhooks are not enabled on this server.");
    const result = check(await fetchWebhookSecret(client));
    if (result.ok || result.reason !== "invalid_signature") return result;
    // The secret may have been rotated since it was fetched: fetch it again, but not for every bad request.
    const now = Date.now();
    if (now - this.lastSecretRefresh < SECRET_REFRESH_INTERVAL_MS) return result;
    this.lastSecretRefresh = now;
    return check(await fetchWebhookSecret(client, { refresh: true }));
  }

  /** True when this delivery is new; false when its webhook-id was processed before. */
  private async claimDelivery(webhookId: string): Promise<boolean> {
    const { store, logger } = this.options;
    if (!(await store.claimWebhookDelivery(webhookId, SOURCE, new Date()))) return false;
    const now = Date.now();
    if (now - this.lastPruneAt > PRUNE_INTERVAL_MS) {
      this.lastPruneAt = now;
      void store
        .deleteWebhookDeliveries(SOURCE, new Date(now - DELIVERY_RETENTION_MS))
        .catch((error: unknown) => logger.warn("could not prune old webhook deliveries", { err: error }));
    }
    return true;
  }
}
