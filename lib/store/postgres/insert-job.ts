import "server-only";
import { randomUUID } from "node:crypto";
import { postgresTime } from "@/lib/store/postgres/connection";
import { candidatesJson } from "@/lib/store/rows";
import type { IdempotencyClaim, NewJob } from "@/lib/store/types";

/** Takes a free or expired key ($1 user, $2 key, ... $8 expiry); with RETURNING, a row only when it was taken. */
export const CLAIM_KEY = `INSERT INTO idempotency_keys (user_id, key, request_hash, job_id, response_status, response_body, created_at, expires_at)
  VALUES ($1, $2, $3, $4, $5::int, $6::jsonb, $7::timestamp(3), $8::timestamp(3))
  ON CONFLICT (user_id, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, job_id = EXCLUDED.job_id, response_status = EXCLUDED.response_status,
    response_body = EXCLUDED.response_body, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
  WHERE idempotency_keys.expires_at <= EXCLUDED.created_at`;

export function claimValues(claim: IdempotencyClaim): unknown[] {
  return [
    claim.userId,
    claim.key,
    claim.requestHash,
    claim.jobId,
    claim.response?.status ?? null,
    claim.response ? JSON.stringify(claim.response.body) : null,
    postgresTime(claim.now),
    postgresTime(claim.expiresAt),
  ];
}

/**
 * A job's rows as data-modifying CTEs of one statement: one round trip, one commit, all rows or
 * none. A rerun copies its parent's upload rows (every field) and takes the parent's completed checkpoints (and
 * their events) as its own. With a webhook, the job's webhook row and a message per wanted event.
 * With a claim, the idempotency key's row comes first and the job's rows are inserted from it: a
 * key already taken inserts nothing, and the statement returns no row.
 */
export function insertJobStatement(id: string, job: NewJob, now: Date, claim: IdempotencyClaim | undefined): [string, unknown[]] {
  // The job's upload (field "") and its extra images, as parallel arrays for one unnest.
  const uploads = [...(job.upload ? [{ ...job.upload, field: "" }] : []), ...(job.extraUploads ?? [])];
  const rerun = job.rerun;
  // The copied events come before the first one, in order (ids follow the array's order).
  const events = [...(rerun?.copiedEvents ?? []), job.firstEvent].map((event) => ({ type: event.type, data: event.data }));
  const checkpoints = (rerun?.checkpoints ?? []).map((copy) => ({
    step_index: copy.stepIndex,
    candidate: copy.candidate,
    output: copy.output,
    started_at: copy.startedAt && postgresTime(copy.startedAt),
    completed_at: copy.completedAt && postgresTime(copy.completedAt),
  }));
  const values: unknown[] = [
    id,
    job.userId,
    job.workflow.id,
    job.workflow.version,
    JSON.stringify(job.inputs),
    postgresTime(now),
    randomUUID(),
    job.maxAttempts,
    JSON.stringify(events),
    JSON.stringify(job.workflow.config),
    rerun?.parentJobId ?? null,
    rerun?.fromStep ?? null,
    rerun?.progress ?? 0,
    JSON.stringify(checkpoints),
    uploads.map((u) => u.field),
    job.approvalSteps && job.approvalSteps.length > 0 ? JSON.stringify(job.approvalSteps) : null,
    job.estimate?.micros ?? 0,
    JSON.stringify(job.estimate?.steps ?? []),
    job.candidates ? JSON.stringify(candidatesJson(job.candidates)) : null,
  ];
  values.push(
    uploads.map((u) => u.filename),
    uploads.map((u) => u.contentType),
    uploads.map((u) => u.data.length),
    uploads.map((u) => u.width),
    uploads.map((u) => u.height),
    uploads.map((u) => u.data),
  );
  values.push(job.deadlineAt ? postgresTime(job.deadlineAt) : null);
  const deadline = `$${values.length}::timestamp(3)`;
  let webhookCtes = "";
  if (job.webhook) {
    values.push(job.webhook.url, JSON.stringify(job.webhook.events));
    const url = `$${values.length - 1}`;
    const wanted = `$${values.length}::jsonb`;
    // The job_webhooks row this statement inserts is not visible to its other parts, so the
    // events' messages are chosen by the events parameter, not by a join (as the plans do).
    webhookCtes = `, wh AS (
       INSERT INTO job_webhooks (job_id, user_id, url, events, created_at) SELECT j.id, $2, ${url}, ${wanted}, $6::timestamp(3) FROM j RETURNING job_id
     ), wm AS (
       INSERT INTO webhook_messages (id, job_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
       SELECT 'msg_' || ev.id, wh.job_id, ev.id, ev.type, 'pending', 0, $6::timestamp(3), $6::timestamp(3) FROM ev, wh WHERE jsonb_exists(${wanted}, ev.type)
     )`;
  }
  let keyCte = "";
  if (claim) {
    const at = values.length;
    values.push(...claimValues(claim));
    const p = (n: number) => `$${at + n}`;
    keyCte = `k AS (${CLAIM_KEY.replace(/\$(\d)/g, (_m, n: string) => p(Number(n)))} RETURNING 1), `;
  }
  // Last, so the numbered parameters above keep their places.
  values.push(job.models && Object.keys(job.models).length > 0 ? JSON.stringify(job.models) : null);
  const models = `$${values.length}::jsonb`;
  const from = claim ? "FROM k" : "";
  const text = `WITH ${keyCte}v AS (
       INSERT INTO workflow_versions (workflow_id, version, config, created_at) SELECT $3, $4, $10::jsonb, $6::timestamp(3) ${from} ON CONFLICT DO NOTHING
     ), j AS (
       INSERT INTO jobs (id, user_id, workflow_id, workflow_version, status, progress, inputs, parent_job_id, rerun_from_step, approval_steps, estimated_micro_usd, cost_estimate, candidates, models, deadline_at, created_at, updated_at)
       SELECT $1, $2, $3, $4, 'queued', $13::int, $5::jsonb, $11::text, $12::int, $16::jsonb, $17::int, $18::jsonb, $19::jsonb, ${models}, ${deadline}, $6::timestamp(3), $6::timestamp(3) ${from} RETURNING id
     ), e AS (
       INSERT INTO workflow_executions (id, job_id, workflow_id, current_step, max_attempts, created_at, updated_at)
       SELECT $7, j.id, $3, coalesce($12::int, 0), $8::int, $6::timestamp(3), $6::timestamp(3) FROM j
     ), ev AS (
       INSERT INTO job_events (job_id, type, data, created_at)
       SELECT j.id, x.event->>'type', x.event->'data', $6::timestamp(3) FROM j, jsonb_array_elements($9::jsonb) WITH ORDINALITY AS x(event, n) ORDER BY x.n
       RETURNING id, type
     ), c AS (
       INSERT INTO checkpoints (job_id, step_index, candidate, status, output, attempt, started_at, completed_at, updated_at)
       SELECT j.id, x.step_index, x.candidate, 'completed', x.output, 0, x.started_at, x.completed_at, $6::timestamp(3)
       FROM j, jsonb_to_recordset($14::jsonb) AS x(step_index int, candidate int, output jsonb, started_at timestamp(3), completed_at timestamp(3))
     ), u AS (
       INSERT INTO uploads (id, job_id, field, user_id, filename, content_type, size, width, height, data, created_at)
       SELECT gen_random_uuid()::text, j.id, x.field, $2, x.filename, x.content_type, x.size, x.width, x.height, x.data, $6::timestamp(3)
       FROM j, unnest($15::text[], $20::text[], $21::text[], $22::int[], $23::int[], $24::int[], $25::bytea[]) AS x(field, filename, content_type, size, width, height, data)
       UNION ALL
       SELECT gen_random_uuid()::text, j.id, p.field, p.user_id, p.filename, p.content_type, p.size, p.width, p.height, p.data, $6::timestamp(3) FROM j, uploads p WHERE p.job_id = $11::text
     )${webhookCtes}
     SELECT id FROM j`;
  return [text, values];
}
