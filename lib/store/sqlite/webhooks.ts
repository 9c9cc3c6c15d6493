import "server-only";
import { toDate } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import type { JobWebhooks, WebhookAttemptRecord, WebhookMessageToSend, WebhookOutcome } from "@/lib/store/types";
import { webhookMessageFromRow, webhookMessageToSendFromRow } from "@/lib/store/webhook-rows";

/**
 * The outbox on SQLite: the job's events just inserted (the last `count` rows of job_events, whose
 * ids SQLite gave in order inside this transaction) become messages when the job has a webhook
 * that wants their type. Called inside the transaction that inserted the events.
 */
export function insertWebhookMessages(c: SqliteConnection, jobId: string, count: number): void {
  const last = Number(c.get<{ id: number }>("SELECT last_insert_rowid() AS id")!.id);
  c.run(
    `INSERT INTO webhook_messages (id, job_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
     SELECT 'msg_' || e.id, e.job_id, e.id, e.type, 'pending', 0, e.created_at, e.created_at
     FROM job_webhooks w JOIN job_events e ON e.job_id = w.job_id AND e.id > ?
     WHERE w.job_id = ? AND EXISTS (SELECT 1 FROM json_each(w.events) WHERE json_each.value = e.type)`,
    last - count,
    jobId,
  );
}

export class SqliteWebhooks {
  constructor(private readonly c: SqliteConnection) {}

  async webhookSecret(userId: string, make: () => string): Promise<string> {
    const c = this.c;
    return c.write(() => {
      c.run("INSERT INTO webhook_secrets (user_id, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO NOTHING", userId, make(), sqliteTime(new Date()));
      return c.get<{ secret: string }>("SELECT secret FROM webhook_secrets WHERE user_id = ?", userId)!.secret;
    });
  }

  async rotateWebhookSecret(userId: string, secret: string): Promise<void> {
    this.c.run(
      "INSERT INTO webhook_secrets (user_id, secret, created_at) VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, created_at = excluded.created_at",
      userId,
      secret,
      sqliteTime(new Date()),
    );
  }

  async findDueWebhookMessages(now: Date, limit: number): Promise<string[]> {
    const at = sqliteTime(now);
    return this.c
      .all<{ id: string }>(
        `SELECT m.id FROM webhook_messages m
         WHERE m.status = 'pending' AND m.next_attempt_at <= ? AND (m.locked_until IS NULL OR m.locked_until <= ?)
           AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.job_id = m.job_id AND p.status = 'pending' AND p.event_id < m.event_id)
         ORDER BY m.next_attempt_at, m.event_id LIMIT ?`,
        at,
        at,
        limit,
      )
      .map((row) => row.id);
  }

  async claimWebhookMessage(id: string, now: Date, until: Date): Promise<boolean> {
    const at = sqliteTime(now);
    return this.c.run("UPDATE webhook_messages SET locked_until = ? WHERE id = ? AND status = 'pending' AND (locked_until IS NULL OR locked_until <= ?)", sqliteTime(until), id, at) === 1;
  }

  async readWebhookMessage(id: string): Promise<WebhookMessageToSend | undefined> {
    const row = this.c.get(
      `SELECT m.id, m.job_id, m.event_id, m.event_type, m.attempts, m.created_at, e.data AS event_json, e.created_at AS event_created_at, w.url, w.user_id, s.secret
       FROM webhook_messages m JOIN job_events e ON e.id = m.event_id JOIN job_webhooks w ON w.job_id = m.job_id LEFT JOIN webhook_secrets s ON s.user_id = w.user_id
       WHERE m.id = ?`,
      id,
    );
    return row && webhookMessageToSendFromRow(row);
  }

  async recordWebhookAttempt(id: string, attempt: WebhookAttemptRecord, outcome: WebhookOutcome): Promise<void> {
    const c = this.c;
    c.write(() => {
      c.run(
        "INSERT INTO webhook_attempts (message_id, attempt, at, status_code, error, duration_ms) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        id,
        attempt.attempt,
        sqliteTime(attempt.at),
        attempt.statusCode,
        attempt.error,
        attempt.durationMs,
      );
      c.run(
        `UPDATE webhook_messages SET attempts = ?, status = ?, next_attempt_at = coalesce(?, next_attempt_at), locked_until = NULL, last_status = ?, last_error = ?, delivered_at = ?
         WHERE id = ? AND status = 'pending'`,
        attempt.attempt,
        outcome.status,
        outcome.status === "pending" ? sqliteTime(outcome.nextAttemptAt) : null,
        attempt.statusCode,
        attempt.error,
        outcome.status === "delivered" ? sqliteTime(outcome.at) : null,
        id,
      );
    });
  }

  async nextWebhookAttemptAt(): Promise<Date | undefined> {
    const row = this.c.get<{ at: string | null }>(`SELECT min(max(m.next_attempt_at, coalesce(m.locked_until, m.next_attempt_at))) AS at FROM webhook_messages m
       WHERE m.status = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.job_id = m.job_id AND p.status = 'pending' AND p.event_id < m.event_id)`);
    return toDate(row?.at) ?? undefined;
  }

  async readJobWebhooks(jobId: string): Promise<JobWebhooks | undefined> {
    const webhook = this.c.get<{ url: string; events: string }>("SELECT url, events FROM job_webhooks WHERE job_id = ?", jobId);
    if (!webhook) return undefined;
    const tries = this.c.all(
      "SELECT a.* FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id WHERE m.job_id = ? ORDER BY a.message_id, a.attempt",
      jobId,
    );
    const messages = this.c.all("SELECT * FROM webhook_messages WHERE job_id = ? ORDER BY event_id", jobId).map((row) => webhookMessageFromRow(row, tries));
    return { url: webhook.url, events: JSON.parse(webhook.events) as string[], messages };
  }
}
