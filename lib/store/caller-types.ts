import "server-only";

// What the store keeps for programs that call Montage: outgoing webhooks, bulk filters and
// idempotency keys (re-exported by lib/store/types.ts).

export interface WebhookMessageToSend {
  id: string;
  jobId: string;
  userId: string;
  eventId: number;
  eventType: string;
  /** The event's data as stored (JSON text). */
  eventJson: string;
  eventCreatedAt: Date;
  url: string;
  secret: string;
  attempts: number;
  createdAt: Date;
}

export interface WebhookAttemptRecord {
  attempt: number;
  at: Date;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

export type WebhookOutcome = { status: "delivered"; at: Date } | { status: "pending"; nextAttemptAt: Date } | { status: "failed" };

export interface WebhookMessageRecord {
  id: string;
  eventId: number;
  eventType: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  nextAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: Date;
  deliveredAt: Date | null;
  tries: WebhookAttemptRecord[];
}

export interface JobWebhooks {
  url: string;
  events: string[];
  messages: WebhookMessageRecord[];
}

/** What bulk actions select: every field given must match. */
export interface JobFilter {
  statuses: readonly string[];
  workflowId?: string;
  createdAfter?: Date;
  createdBefore?: Date;
  jobIds?: readonly string[];
}

/** A job's place in created order. */
export interface JobKey {
  id: string;
  createdAt: Date;
}

export interface IdempotentResponse {
  status: number;
  body: unknown;
}

/** A request's claim on an idempotency key. */
export interface IdempotencyClaim {
  userId: string;
  key: string;
  requestHash: string;
  jobId: string | null;
  /** Known when the claim is written (execute's answer); null while the request runs. */
  response: IdempotentResponse | null;
  now: Date;
  expiresAt: Date;
}

export interface IdempotencyRecord {
  key: string;
  requestHash: string;
  jobId: string | null;
  response: IdempotentResponse | null;
  createdAt: Date;
  expiresAt: Date;
}
