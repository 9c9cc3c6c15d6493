import "server-only";
import { getOwnJob } from "@/lib/jobs/service";
import type { Store, WebhookMessageRecord } from "@/lib/store/types";
import { newWebhookSecret } from "@/lib/webhooks/signing";

/** The user's signing secret, made on first use. */
export function webhookSecretOf(store: Store, userId: string): Promise<string> {
  return store.webhookSecret(userId, newWebhookSecret);
}

/** A new secret: deliveries from now on are signed with it (receivers must switch to it). */
export async function rotateWebhookSecret(store: Store, userId: string): Promise<string> {
  const secret = newWebhookSecret();
  await store.rotateWebhookSecret(userId, secret);
  return secret;
}

/** GET /jobs/<id>/webhooks: the job's webhook and each message with its attempts; another user's job is a 404. */
export async function jobWebhooksOf(store: Store, userId: string, jobId: string) {
  await getOwnJob(store, userId, jobId);
  const webhooks = await store.readJobWebhooks(jobId);
  return {
    success: true as const,
    webhook: webhooks ? { url: webhooks.url, events: webhooks.events } : null,
    deliveries: (webhooks?.messages ?? []).map(deliveryToJson),
  };
}

function deliveryToJson(message: WebhookMessageRecord) {
  return {
    id: message.id,
    event_id: message.eventId,
    event: message.eventType,
    status: message.status,
    attempts: message.attempts,
    next_attempt_at: message.nextAttemptAt?.toISOString() ?? null,
    last_status: message.lastStatus,
    last_error: message.lastError,
    created_at: message.createdAt.toISOString(),
    delivered_at: message.deliveredAt?.toISOString() ?? null,
    tries: message.tries.map((attempt) => ({
      attempt: attempt.attempt,
      at: attempt.at.toISOString(),
      status_code: attempt.statusCode,
      error: attempt.error,
      duration_ms: attempt.durationMs,
    })),
  };
}
