import "server-only";
import type { Logger } from "@/lib/log";
import type { Store, WebhookMessageToSend, WebhookOutcome } from "@/lib/store/types";
import { postWebhook } from "@/lib/webhooks/send";
import { newWebhookSecret, webhookHeaders } from "@/lib/webhooks/signing";

export interface WebhookDispatcherOptions {
  store: Store;
  logger: Logger;
  retryBaseSeconds: number;
  retryMaxSeconds: number;
  /** A message not delivered this long after its event is given up. */
  retryWindowSeconds: number;
  timeoutMs: number;
  allowInsecure: boolean;
  /** How often to look for due messages when nothing wakes the dispatcher sooner (other processes' events). */
  pollIntervalMs: number;
  /** Messages sent at once (each the head of its own job's queue). */
  batch?: number;
}

/**
 * Sends outgoing webhook messages: the outbox rows the store writes with each event. Each pass
 * takes the due messages that head their job's queue (so a job's messages go in order), claims
 * each (compare-and-set, so two processes never send one message at once), sends it and records
 * the attempt: delivered on a 2xx, else due again after an exponential backoff, until the window
 * (24 h) has passed. Everything it knows is in rows, so a restart loses nothing: the next pass
 * sends what is due. Woken by the runner's notifications, its own timer for the next due retry,
 * a poll, and (under Inngest) the retry sweep.
 */
/** A message due now but not sent by this pass is held by another sender: look again a little later, not at once. */
const MIN_WAKE_MS = 250;

export class WebhookDispatcher {
  private passing: Promise<void> | undefined;
  private again = false;
  private pollTimer: NodeJS.Timeout | undefined;
  private wakeTimer: NodeJS.Timeout | undefined;
  private wakeAt = Number.POSITIVE_INFINITY;
  private kickTimer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(private readonly options: WebhookDispatcherOptions) {}

  start(): void {
    this.stopped = false;
    this.pollTimer = setInterval(() => this.kick(), this.options.pollIntervalMs);
    this.pollTimer.unref();
    this.kick();
  }

  /** Asks for a pass soon (notifications come in bursts: one pass serves them all). */
  kick(): void {
    if (this.stopped || this.kickTimer) return;
    this.kickTimer = setTimeout(() => {
      this.kickTimer = undefined;
      void this.pass();
    }, 20);
    this.kickTimer.unref();
  }

  /** Sends what is due until nothing is; a pass asked for meanwhile runs after. */
  async pass(): Promise<void> {
    if (this.passing) {
      this.again = true;
      return this.passing;
    }
    this.passing = (async () => {
      try {
        do {
          this.again = false;
          while ((await this.dispatchDue()) > 0 && !this.stopped);
        } while (this.again && !this.stopped);
        await this.scheduleWake();
      } catch (error) {
        this.options.logger.error("webhook dispatch failed; the next pass retries", { err: error });
      } finally {
        this.passing = undefined;
      }
    })();
    return this.passing;
  }

  /** One batch: the due heads of their jobs' queues, sent at once. How many were sent. */
  async dispatchDue(now = new Date()): Promise<number> {
    const { store } = this.options;
    const due = await store.findDueWebhookMessages(now, this.options.batch ?? 20);
    const claimUntil = new Date(now.getTime() + this.options.timeoutMs + 30_000);
    const sent = await Promise.all(
      due.map(async (id) => {
        if (!(await store.claimWebhookMessage(id, now, claimUntil))) return false;
        const message = await store.readWebhookMessage(id);
        if (!message) return false;
        await this.send(message);
        return true;
      }),
    );
    return sent.filter(Boolean).length;
  }

  private async send(message: WebhookMessageToSend): Promise<void> {
    const { store, logger } = this.options;
    const secret = message.secret || (await store.webhookSecret(message.userId, newWebhookSecret));
    const body = webhookBody(message);
    const startedAt = new Date();
    const result = await postWebhook(message.url, webhookHeaders(secret, message.id, body, startedAt), body, {
      allowInsecure: this.options.allowInsecure,
      timeoutMs: this.options.timeoutMs,
    });
    const at = new Date();
    const attempt = message.attempts + 1;
    const delivered = "statusCode" in result && result.statusCode >= 200 && result.statusCode < 300;
    const error = "error" in result ? result.error : delivered ? null : `Answered ${result.statusCode}`;
    let outcome: WebhookOutcome;
    if (delivered) outcome = { status: "delivered", at };
    else if ("permanent" in result && result.permanent) outcome = { status: "failed" };
    else {
      const next = new Date(at.getTime() + this.backoffMs(attempt));
      const giveUpAt = message.createdAt.getTime() + this.options.retryWindowSeconds * 1000;
      outcome = next.getTime() > giveUpAt ? { status: "failed" } : { status: "pending", nextAttemptAt: next };
    }
    await store.recordWebhookAttempt(
      message.id,
      { attempt, at: startedAt, statusCode: "statusCode" in result ? result.statusCode : null, error, durationMs: at.getTime() - startedAt.getTime() },
      outcome,
    );
    if (outcome.status !== "delivered") {
      logger.warn("webhook delivery failed", { job_id: message.jobId, webhook_id: message.id, attempt, error, outcome: outcome.status });
    }
  }

  /** Exponential from the base, capped, with ±20% jitter so a receiver's recovery is not met by every sender at once. */
  private backoffMs(attempt: number): number {
    const seconds = Math.min(this.options.retryBaseSeconds * 2 ** (attempt - 1), this.options.retryMaxSeconds);
    return seconds * 1000 * (0.8 + Math.random() * 0.4);
  }

  /** A timer for the next due retry, when it comes before the next poll. */
  private async scheduleWake(): Promise<void> {
    const next = await this.options.store.nextWebhookAttemptAt();
    if (!next || this.stopped) return;
    const at = next.getTime();
    if (at >= this.wakeAt && this.wakeTimer) return;
    clearTimeout(this.wakeTimer);
    this.wakeAt = at;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.wakeAt = Number.POSITIVE_INFINITY;
      this.kick();
    }, Math.max(MIN_WAKE_MS, at - Date.now() + 5));
    this.wakeTimer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.wakeTimer);
    clearTimeout(this.kickTimer);
    this.kickTimer = undefined;
    await this.passing;
  }
}

/** The body of a message: the same bytes on every attempt (built from the stored event). */
export function webhookBody(message: Pick<WebhookMessageToSend, "eventType" | "eventCreatedAt" | "jobId" | "eventId" | "eventJson">): string {
  const data = JSON.parse(message.eventJson) as Record<string, unknown>;
  return JSON.stringify({ type: message.eventType, timestamp: message.eventCreatedAt.toISOString(), data: { job_id: message.jobId, event_id: message.eventId, ...data } });
}
