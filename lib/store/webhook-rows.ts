import "server-only";
import { toDate, toJson } from "@/lib/store/rows";
import type { WebhookAttemptRecord, WebhookMessageRecord, WebhookMessageToSend } from "@/lib/store/types";

/** Outgoing webhook rows as either driver returns them, turned into the store's types (see rows.ts). */
type Row = Record<string, unknown>;

const text = (value: unknown): string | null => (value === null || value === undefined ? null : String(value as string));
const int = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

export function webhookMessageToSendFromRow(row: Row): WebhookMessageToSend {
  return {
    id: String(row.id as string),
    jobId: String(row.job_id as string),
    userId: String(row.user_id as string),
    eventId: Number(row.event_id),
    eventType: String(row.event_type as string),
    eventJson: typeof row.event_json === "string" ? row.event_json : JSON.stringify(row.event_json),
    eventCreatedAt: toDate(row.event_created_at)!,
    url: String(row.url as string),
    secret: text(row.secret) ?? "",
    attempts: Number(row.attempts),
    createdAt: toDate(row.created_at)!,
  };
}

function attemptFromRow(row: Row): WebhookAttemptRecord {
  return { attempt: Number(row.attempt), at: toDate(row.at)!, statusCode: int(row.status_code), error: text(row.error), durationMs: Number(row.duration_ms) };
}

/** A message with its attempts (`tries`: the job's attempt rows, any order of messages). */
export function webhookMessageFromRow(row: Row, tries: Row[]): WebhookMessageRecord {
  const id = String(row.id as string);
  const status = String(row.status as string) as WebhookMessageRecord["status"];
  return {
    id,
    eventId: Number(row.event_id),
    eventType: String(row.event_type as string),
    status,
    attempts: Number(row.attempts),
    nextAttemptAt: status === "pending" ? toDate(row.next_attempt_at) : null,
    lastStatus: int(row.last_status),
    lastError: text(row.last_error),
    createdAt: toDate(row.created_at)!,
    deliveredAt: toDate(row.delivered_at),
    tries: tries.filter((attempt) => attempt.message_id === id).map(attemptFromRow),
  };
}

export const webhookEvents = (value: unknown): string[] => toJson<string[]>(value) ?? [];
