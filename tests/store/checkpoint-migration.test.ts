import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { resolveDatabase } from "@/lib/db/database-url";
import { openDatabase } from "@/lib/server/database";
import { checkpointLayout } from "@/lib/store/checkpoints";
import { POSTGRES_ADMIN_URL, postgresUrl } from "../helpers/templates";

/**
 * The migration to checkpoint rows (20261201000000_checkpoint_rows_fencing_versions) on a
 * database that holds jobs of the version before it: every job's checkpoint document becomes rows,
 * and the store shows each old job in exactly the layout the API showed before. The migrations'
 * own SQL files are applied in order, as `prisma migrate deploy` applies them.
 */
const MIGRATION = "20261201000000_checkpoint_rows_fencing_versions";
const root = path.resolve(import.meta.dirname, "../..");

/** The migrations before the one under test, it, and those after it (an upgrade applies them all, and the store reads their columns). */
function migrations(provider: "sqlite" | "postgresql"): { before: string[]; target: string; after: string[] } {
  const dir = path.join(root, "prisma", provider, "migrations");
  const names = readdirSync(dir).filter((name) => /^\d/.test(name)).sort();
  const at = names.indexOf(MIGRATION);
  const read = (name: string) => readFileSync(path.join(dir, name, "migration.sql"), "utf8");
  return { before: names.slice(0, at).map(read), target: read(MIGRATION), after: names.slice(at + 1).map(read) };
}

/** Two old jobs: one parked at step 3 with a saved prediction id, one completed. As the old engine wrote them. */
const OLD_DOCUMENTS = {
  parked: {
    "0": { status: "completed", output: { image_url: "http://localhost:3000/files/jobs/p/0-upload.jpg" }, started_at: "2026-11-26T10:00:00.000Z", completed_at: "2026-11-26T10:00:00.500Z" },
    "1": { status: "completed", output: { edited_image_url: "http://localhost:3000/files/jobs/p/1-image_edit.png" }, started_at: "2026-11-26T10:00:00.500Z", completed_at: "2026-11-26T10:00:09.250Z" },
    "2": { status: "failed_retryable", error: "Quota exceeded", error_class: "retryable", error_reason: "quota", state: { predictionId: "pred-123" } },
  },
  completed: {
    "0": { status: "completed", output: { image_url: "u0" }, started_at: "2026-11-25T08:00:00.000Z", completed_at: "2026-11-25T08:00:01.000Z" },
    "1": { status: "completed", output: { edited_image_url: "u1" }, started_at: "2026-11-25T08:00:01.000Z", completed_at: "2026-11-25T08:00:05.000Z" },
    "2": { status: "completed", output: { video_url: "u2" }, started_at: "2026-11-25T08:00:05.000Z", completed_at: "2026-11-25T08:01:00.000Z" },
  },
};

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

describe("migrating checkpoint documents to rows", () => {
  it("on SQLite keeps every old job readable in the note's layout", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "montage-migration-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const file = path.join(dir, "montage.db");
    const db = new Database(file);
    const { before, target, after } = migrations("sqlite");
    for (const sql of before) db.exec(sql);
    db.prepare("INSERT INTO users (id, email) VALUES ('u', 'old@example.com')").run();
    for (const [id, document] of Object.entries(OLD_DOCUMENTS)) {
      db.prepare("INSERT INTO jobs (id, user_id, workflow_id, status, inputs, attempts, updated_at) VALUES (?, 'u', 'img-edit-to-video', ?, '{}', 2, '2026-11-26T10:00:10.000+00:00')").run(
        id,
        id === "parked" ? "pending_retry" : "completed",
      );
      db.prepare("INSERT INTO workflow_executions (id, job_id, workflow_id, checkpoints, max_retries, updated_at) VALUES (?, ?, 'img-edit-to-video', ?, 4, '2026-11-26T10:00:10.000+00:00')").run(
        `e-${id}`,
        id,
        JSON.stringify(document),
      );
    }
    db.exec(target);
    for (const sql of after) db.exec(sql);
    db.close();

    const opened = openDatabase(resolveDatabase(`file:${file}`, dir));
    cleanups.push(() => opened.close());
    await expectOldJobsReadable(opened.store);
  });

  it("on PostgreSQL keeps every old job readable in the note's layout", async () => {
    const name = `montage_migration_${randomBytes(5).toString("hex")}`;
    const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    cleanups.push(async () => {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });
    const client = new pg.Client({ connectionString: postgresUrl(name) });
    await client.connect();
    const { before, target, after } = migrations("postgresql");
    for (const sql of before) await client.query(sql);
    await client.query("INSERT INTO users (id, email) VALUES ('u', 'old@example.com')");
    for (const [id, document] of Object.entries(OLD_DOCUMENTS)) {
      await client.query("INSERT INTO jobs (id, user_id, workflow_id, status, inputs, attempts, updated_at) VALUES ($1, 'u', 'img-edit-to-video', $2, '{}', 2, '2026-11-26 10:00:10')", [
        id,
        id === "parked" ? "pending_retry" : "completed",
      ]);
      await client.query("INSERT INTO workflow_executions (id, job_id, workflow_id, checkpoints, max_retries, updated_at) VALUES ($1, $2, 'img-edit-to-video', $3, 4, '2026-11-26 10:00:10')", [
        `e-${id}`,
        id,
        JSON.stringify(document),
      ]);
    }
    await client.query(target);
    for (const sql of after) await client.query(sql);
    await client.end();

    const opened = openDatabase(resolveDatabase(postgresUrl(name), tmpdir()));
    cleanups.push(() => opened.close());
    await expectOldJobsReadable(opened.store);
  });
});

async function expectOldJobsReadable(store: ReturnType<typeof openDatabase>["store"]) {
  for (const [id, document] of Object.entries(OLD_DOCUMENTS)) {
    const job = await store.getJob(id);
    expect(checkpointLayout(job!.checkpoints), id).toEqual(document);
    // max_retries became max_attempts, with the value it had.
    expect(job!.execution.maxAttempts).toBe(4);
  }
  // The parked job's saved prediction is still there for the step to re-attach to, and it resumes at step 3.
  const leased = await store.leaseRun("parked", "after-migration", { ttlMs: 1000 });
  expect(leased?.fence).toEqual({ owner: "after-migration", epoch: 1 });
  expect(leased?.job.checkpoints.find((row) => row.stepIndex === 2)).toMatchObject({ status: "failed_retryable", state: { predictionId: "pred-123" }, attempt: 2 });
}
