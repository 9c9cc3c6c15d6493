import "server-only";
import { randomUUID } from "node:crypto";
import { candidatesJson } from "@/lib/store/rows";
import { sqliteTime, type SqliteConnection } from "@/lib/store/sqlite/connection";
import { insertWebhookMessages } from "@/lib/store/sqlite/webhooks";
import type { NewJob } from "@/lib/store/types";

/**
 * Inside a write transaction: the job, its execution, its workflow's version, its uploads and its
 * first event; for a rerun also a copy of the parent's uploads and its copied checkpoints and
 * events; with a webhook, the job's webhook and a message for each wanted event.
 */
export function insertJobRows(c: SqliteConnection, id: string, job: NewJob, at: string): void {
  c.run("INSERT INTO workflow_versions (workflow_id, version, config, created_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING", job.workflow.id, job.workflow.version, JSON.stringify(job.workflow.config), at);
  const rerun = job.rerun;
  c.run(
    "INSERT INTO jobs (id, user_id, workflow_id, workflow_version, status, progress, inputs, parent_job_id, rerun_from_step, approval_steps, estimated_micro_usd, cost_estimate, candidates, models, deadline_at, created_at, updated_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    id,
    job.userId,
    job.workflow.id,
    job.workflow.version,
    rerun?.progress ?? 0,
    JSON.stringify(job.inputs),
    rerun?.parentJobId ?? null,
    rerun?.fromStep ?? null,
    job.approvalSteps && job.approvalSteps.length > 0 ? JSON.stringify(job.approvalSteps) : null,
    job.estimate?.micros ?? 0,
    JSON.stringify(job.estimate?.steps ?? []),
    job.candidates ? JSON.stringify(candidatesJson(job.candidates)) : null,
    job.models && Object.keys(job.models).length > 0 ? JSON.stringify(job.models) : null,
    job.deadlineAt ? sqliteTime(job.deadlineAt) : null,
    at,
    at,
  );
  c.run(
    "INSERT INTO workflow_executions (id, job_id, workflow_id, current_step, max_attempts, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    randomUUID(),
    id,
    job.workflow.id,
    rerun?.fromStep ?? 0,
    job.maxAttempts,
    at,
    at,
  );
  if (rerun) {
    // Every field the parent was sent: its upload and its extra images.
    for (const { field } of c.all<{ field: string }>("SELECT field FROM uploads WHERE job_id = ? ORDER BY field", rerun.parentJobId)) {
      c.run(
        `INSERT INTO uploads (id, job_id, field, user_id, filename, content_type, size, width, height, data, created_at)
         SELECT ?, ?, field, user_id, filename, content_type, size, width, height, data, ? FROM uploads WHERE job_id = ? AND field = ?`,
        randomUUID(),
        id,
        at,
        rerun.parentJobId,
        field,
      );
    }
    for (const copy of rerun.checkpoints) {
      c.run(
        "INSERT INTO checkpoints (job_id, step_index, candidate, status, output, attempt, started_at, completed_at, updated_at) VALUES (?, ?, ?, 'completed', ?, 0, ?, ?, ?)",
        id,
        copy.stepIndex,
        copy.candidate,
        JSON.stringify(copy.output),
        copy.startedAt && sqliteTime(copy.startedAt),
        copy.completedAt && sqliteTime(copy.completedAt),
        at,
      );
    }
    for (const event of rerun.copiedEvents) c.run("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)", id, event.type, JSON.stringify(event.data), at);
  }
  for (const u of [...(job.upload ? [{ ...job.upload, field: "" }] : []), ...(job.extraUploads ?? [])]) {
    c.run(
      "INSERT INTO uploads (id, job_id, field, user_id, filename, content_type, size, width, height, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      randomUUID(),
      id,
      u.field,
      job.userId,
      u.filename,
      u.contentType,
      u.data.length,
      u.width,
      u.height,
      u.data,
      at,
    );
  }
  c.run("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)", id, job.firstEvent.type, JSON.stringify(job.firstEvent.data), at);
  if (job.webhook) {
    c.run("INSERT INTO job_webhooks (job_id, user_id, url, events, created_at) VALUES (?, ?, ?, ?, ?)", id, job.userId, job.webhook.url, JSON.stringify(job.webhook.events), at);
    insertWebhookMessages(c, id, (job.rerun?.copiedEvents.length ?? 0) + 1);
  }
}
