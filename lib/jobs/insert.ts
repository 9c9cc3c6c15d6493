import { randomUUID } from "node:crypto";
import type { JobEventInput } from "@/lib/contract/events";
import { dialectOf, onPostgresPool, onSqliteConnection, postgresTime, sqliteStatement, sqliteTime, type Db, type SqliteConnection } from "@/lib/db/client";

/** The rows of a new job: the job (queued), its execution, its first event and, when it has one, its upload. */
export interface NewJobRecord {
  userId: string;
  workflowId: string;
  inputs: Record<string, string>;
  maxRetries: number;
  /** The job's first event (the "Queued" progress event), so a stream opened at once has something to show. */
  firstEvent: JobEventInput;
  upload?: { filename: string; contentType: string; data: Buffer; width: number; height: number };
}

/**
 * Inserts a job with its execution, first event and upload in one transaction and returns its id.
 *
 * Every run starts here, so like the step commit (lib/engine/executor.ts) it is SQL on clients
 * made by createDb: on SQLite four prepared inserts in one transaction on the adapter's own
 * connection, on PostgreSQL one statement of data-modifying CTEs (one round trip, one commit).
 * A Prisma nested create of the same rows cost 1.6–1.8 ms on SQLite and 3.7–4.5 ms on PostgreSQL,
 * more than the whole engine run after it (docs/performance.md). Ids are UUIDs as Prisma's
 * `@default(uuid())` makes them; timestamps are written in Prisma's formats (see sqliteTime).
 * A client of unknown dialect, or one not connected yet, gets the same rows through Prisma.
 */
export async function insertJob(database: Db, job: NewJobRecord): Promise<string> {
  const ids = { job: randomUUID(), execution: randomUUID(), upload: randomUUID() };
  const dialect = dialectOf(database);
  const direct =
    dialect === "sqlite"
      ? onSqliteConnection(database, (connection) => insertSqlite(connection, ids, job, sqliteTime(new Date())), { transaction: true })
      : dialect === "postgresql"
        ? insertPostgres(database, ids, job)
        : undefined;
  if (direct) {
    await direct;
    return ids.job;
  }
  await insertWithModels(database, ids, job);
  return ids.job;
}

type Ids = { job: string; execution: string; upload: string };
function insertSqlite(connection: SqliteConnection, ids: Ids, job: NewJobRecord, now: string): void {
  sqliteStatement(
    connection,
    "INSERT INTO jobs (id, user_id, workflow_id, status, inputs, created_at, updated_at) VALUES (?, ?, ?, 'queued', ?, ?, ?)",
  ).run(ids.job, job.userId, job.workflowId, JSON.stringify(job.inputs), now, now);
  sqliteStatement(
    connection,
    "INSERT INTO workflow_executions (id, job_id, workflow_id, checkpoints, max_retries, created_at, updated_at) VALUES (?, ?, ?, '{}', ?, ?, ?)",
  ).run(ids.execution, ids.job, job.workflowId, job.maxRetries, now, now);
  if (job.upload) {
    const upload = job.upload;
    sqliteStatement(
      connection,
      "INSERT INTO uploads (id, job_id, user_id, filename, content_type, size, width, height, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    ).run(ids.upload, ids.job, job.userId, upload.filename, upload.contentType, upload.data.length, upload.width, upload.height, upload.data, now);
  }
  sqliteStatement(connection, "INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)").run(
    ids.job,
    job.firstEvent.type,
    JSON.stringify(job.firstEvent.data),
    now,
  );
}

/** Data-modifying CTEs of one statement run in one implicit transaction: all rows or none. */
function insertPostgres(database: Db, ids: Ids, job: NewJobRecord): Promise<unknown> | undefined {
  const upload = job.upload;
  const sql = `
    WITH j AS (
      INSERT INTO jobs (id, user_id, workflow_id, status, inputs, created_at, updated_at)
      VALUES ($1, $2, $3, 'queued', $4::jsonb, $5::timestamp(3), $5::timestamp(3)) RETURNING id
    ), e AS (
      INSERT INTO workflow_executions (id, job_id, workflow_id, checkpoints, max_retries, created_at, updated_at)
      SELECT $6, j.id, $3, '{}'::jsonb, $7::int, $5::timestamp(3), $5::timestamp(3) FROM j
    ), ev AS (
      INSERT INTO job_events (job_id, type, data, created_at) SELECT j.id, $8, $9::jsonb, $5::timestamp(3) FROM j
    )${
      upload
        ? `, u AS (
      INSERT INTO uploads (id, job_id, user_id, filename, content_type, size, width, height, data, created_at)
      SELECT $10, j.id, $2, $11, $12, $13::int, $14::int, $15::int, $16::bytea, $5::timestamp(3) FROM j
    )`
        : ""
    }
    SELECT id FROM j`;
  const params: unknown[] = [
    ids.job,
    job.userId,
    job.workflowId,
    JSON.stringify(job.inputs),
    postgresTime(new Date()),
    ids.execution,
    job.maxRetries,
    job.firstEvent.type,
    JSON.stringify(job.firstEvent.data),
  ];
  if (upload) params.push(ids.upload, upload.filename, upload.contentType, upload.data.length, upload.width, upload.height, upload.data);
  return onPostgresPool(database, sql, params);
}

async function insertWithModels(database: Db, ids: Ids, job: NewJobRecord): Promise<void> {
  const upload = job.upload;
  await database.job.create({
    data: {
      id: ids.job,
      userId: job.userId,
      workflowId: job.workflowId,
      status: "queued",
      inputs: job.inputs,
      execution: { create: { id: ids.execution, workflowId: job.workflowId, checkpoints: {}, maxRetries: job.maxRetries } },
      events: { create: { type: job.firstEvent.type, data: job.firstEvent.data as object } },
      ...(upload && {
        upload: {
          create: {
            id: ids.upload,
            userId: job.userId,
            filename: upload.filename,
            contentType: upload.contentType,
            size: upload.data.length,
            width: upload.width,
            height: upload.height,
            data: new Uint8Array(upload.data),
          },
        },
      }),
    },
    select: { id: true },
  });
}
