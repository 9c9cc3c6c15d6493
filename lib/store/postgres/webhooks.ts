import "server-only";
import { postgresTime, type PostgresConnection } from "@/lib/store/postgres/connection";
import type { JobWebhooks, WebhookAttemptRecord, WebhookMessageToSend, WebhookOutcome } from "@/lib/store/types";
import { webhookEvents, webhookMessageFromRow, webhookMessageToSendFromRow } from "@/lib/store/webhook-rows";

/**
 * The outbox on PostgreSQL, as a CTE of the statement that inserts a job's events: `events` is the
 * CTE that inserted them (RETURNING id, type), `jobId` and `at` the statement's parameters. Each
 * event whose type the job's webhook wants becomes a message in the same commit.
 */
export function webhookMessagesCte(events: string, jobId: string, at: string): string {
  return `webhook_messages_insert AS (INSERT INTO webhook_messages (id, job_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
    SELECT 'msg_' || ev.id, w.job_id, ev.id, ev.type, 'pending', 0, ${at}, ${at} FROM ${events} ev JOIN job_webhooks w ON w.job_id = ${jobId}
    WHERE jsonb_exists(w.events, ev.type))`;
}

export class PostgresWebhooks {
  constructor(private readonly c: PostgresConnection) {}

  async webhookSecret(userId: string, make: () => string): Promise<string> {
    const { rows } = await this.c.query<{ secret: string }>(
      `WITH made AS (INSERT INTO webhook_secrets (user_id, secret, created_at) VALUES ($1, $2, $3::timestamp(3)) ON CONFLICT (user_id) DO NOTHING RETURNING secret)
       SELECT secret FROM made UNION ALL SELECT secret FROM webhook_secrets WHERE user_id = $1`,
      [userId, make(), postgresTime(new Date())],
    );
    return rows[0]!.secret;
  }

  async rotateWebhookSecret(userId: string, secret: string): Promise<void> {
    await this.c.query(
      "INSERT INTO webhook_secrets (user_id, secret, created_at) VALUES ($1, $2, $3::timestamp(3)) ON CONFLICT (user_id) DO UPDATE SET secret = EXCLUDED.secret, created_at = EXCLUDED.created_at",
      [userId, secret, postgresTime(new Date())],
    );
  }

  async findDueWebhookMessages(now: Date, limit: number): Promise<string[]> {
    const { rows } = await this.c.query<{ id: string }>(
      `SELECT m.id FROM webhook_messages m
       WHERE m.status = 'pending' AND m.next_attempt_at <= $1::timestamp(3) AND (m.locked_until IS NULL OR m.locked_until <= $1::timestamp(3))
         AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.job_id = m.job_id AND p.status = 'pending' AND p.event_id < m.event_id)
       ORDER BY m.next_attempt_at, m.event_id LIMIT $2`,
      [postgresTime(now), limit],
    );
    return rows.map((row) => row.id);
  }

  async claimWebhookMessage(id: string, now: Date, until: Date): Promise<boolean> {
    const { rowCount } = await this.c.query(
      "UPDATE webhook_messages SET locked_until = $1::timestamp(3) WHERE id = $2 AND status = 'pending' AND (locked_until IS NULL OR locked_until <= $3::timestamp(3))",
      [postgresTime(until), id, postgresTime(now)],
    );
    return rowCount === 1;
  }

  async readWebhookMessage(id: string): Promise<WebhookMessageToSend | undefined> {
    const { rows } = await this.c.query(
      `SELECT m.id, m.job_id, m.event_id, m.event_type, m.attempts, m.created_at, e.data::text AS event_json, e.created_at AS event_created_at, w.url, w.user_id, s.secret
       FROM webhook_messages m JOIN job_events e ON e.id = m.event_id JOIN job_webhooks w ON w.job_id = m.job_id LEFT JOIN webhook_secrets s ON s.user_id = w.user_id
       WHERE m.id = $1`,
      [id],
    );
    return rows[0] && webhookMessageToSendFromRow(rows[0]);
  }

  async recordWebhookAttempt(id: string, attempt: WebhookAttemptRecord, outcome: WebhookOutcome): Promise<void> {
    await this.c.query(
      `WITH tried AS (
         INSERT INTO webhook_attempts (message_id, attempt, at, status_code, error, duration_ms) VALUES ($1, $2::int, $3::timestamp(3), $4::int, $5, $6::int) ON CONFLICT DO NOTHING
       )
       UPDATE webhook_messages SET attempts = $2::int, status = $7, next_attempt_at = coalesce($8::timestamp(3), next_attempt_at), locked_until = NULL,
         last_status = $4::int, last_error = $5, delivered_at = $9::timestamp(3)
       WHERE id = $1 AND status = 'pending'`,
      [
        id,
        attempt.attempt,
        postgresTime(attempt.at),
        attempt.statusCode,
        attempt.error,
        attempt.durationMs,
        outcome.status,
        outcome.status === "pending" ? postgresTime(outcome.nextAttemptAt) : null,
        outcome.status === "delivered" ? postgresTime(outcome.at) : null,
      ],
    );
  }

  async nextWebhookAttemptAt(): Promise<Date | undefined> {
    const { rows } = await this.c.query<{ at: Date | null }>(`SELECT min(greatest(m.next_attempt_at, m.locked_until)) AS at FROM webhook_messages m
       WHERE m.status = 'pending' AND NOT EXISTS (SELECT 1 FROM webhook_messages p WHERE p.job_id = m.job_id AND p.status = 'pending' AND p.event_id < m.event_id)`);
    return rows[0]?.at ?? undefined;
  }

  async readJobWebhooks(jobId: string): Promise<JobWebhooks | undefined> {
    const { rows } = await this.c.query(
      `SELECT w.url, w.events,
         (SELECT coalesce(json_agg(m ORDER BY m.event_id), '[]') FROM webhook_messages m WHERE m.job_id = w.job_id) AS messages,
         (SELECT coalesce(json_agg(a ORDER BY a.message_id, a.attempt), '[]') FROM webhook_attempts a JOIN webhook_messages m ON m.id = a.message_id WHERE m.job_id = w.job_id) AS tries
       FROM job_webhooks w WHERE w.job_id = $1`,
      [jobId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const tries = (row.tries ?? []) as Record<string, unknown>[];
    return { url: String(row.url as string), events: webhookEvents(row.events), messages: ((row.messages ?? []) as Record<string, unknown>[]).map((message) => webhookMessageFromRow(message, tries)) };
  }
}
