import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import type { CheckpointStatus, Checkpoints } from "@/lib/contract/events";
import { checkpointLayout } from "@/lib/store/checkpoints";
import type { Db } from "@/lib/db/client";
import { FIXTURE_JPEG } from "../helpers/api";
import { freePort } from "../helpers/server";
import { ensurePostgresTemplate, postgresUrl } from "../helpers/templates";

/** Shared by the reliability suites (tests/reliability/*.test.ts). */

export const STEP_LABELS = ["Upload image", "Edit image with AI", "Generate video"];

/** Polls `check` until it returns a value other than undefined/false; never a fixed sleep. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error; // e.g. the database is restarting: keep polling
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)})` : ""}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** POST /workflows/execute on a running server; returns the raw response. */
export async function postExecute(baseUrl: string, token: string, fields: Record<string, string | Blob> = {}): Promise<Response> {
  const form = new FormData();
  form.append("workflow_id", "img-edit-to-video");
  form.append("file", new Blob([new Uint8Array(FIXTURE_JPEG)], { type: "image/jpeg" }), "photo.jpg");
  for (const [name, value] of Object.entries(fields)) form.set(name, value);
  return fetch(`${baseUrl}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } });
}

/** Starts an execution and returns its job id (fails the test on anything but 202). */
export async function startJob(baseUrl: string, token: string): Promise<string> {
  const response = await postExecute(baseUrl, token);
  if (response.status !== 202) throw new Error(`execute answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { job_id: string }).job_id;
}

/**
 * The steps whose handler started, in order, from the job's progress events: the engine writes a
 * progress event with step_progress 0 and the step's label when a handler starts.
 */
export async function stepStarts(database: Db, jobId: string): Promise<number[]> {
  const events = await database.jobEvent.findMany({ where: { jobId, type: "progress" }, orderBy: { id: "asc" } });
  return events
    .map((e) => e.data as { step: number; step_progress: number; message?: string })
    .filter((d) => d.step_progress === 0 && d.message === STEP_LABELS[d.step])
    .map((d) => d.step);
}

/** Completed-checkpoint events per step: exactly one each when no checkpoint was lost or duplicated. */
export async function completedCheckpointEvents(database: Db, jobId: string): Promise<number[]> {
  const events = await database.jobEvent.findMany({ where: { jobId, type: "checkpoint" }, orderBy: { id: "asc" } });
  const counts = [0, 0, 0];
  for (const event of events) {
    const data = event.data as { step: number; status: string };
    if (data.status === "completed") counts[data.step] = (counts[data.step] ?? 0) + 1;
  }
  return counts;
}

/** A job's checkpoint rows, read with Prisma, in the note's layout (what the API shows). */
export async function checkpointsOf(database: Db, jobId: string): Promise<Checkpoints> {
  const rows = await database.checkpoint.findMany({ where: { jobId } });
  return checkpointLayout(
    rows.map((row) => ({
      stepIndex: row.stepIndex,
      candidate: row.candidate,
      status: row.status as CheckpointStatus,
      output: row.output as Record<string, unknown> | null,
      error: row.error,
      errorClass: row.errorClass as "retryable" | "hard" | null,
      errorReason: row.errorReason,
      state: row.state as Record<string, unknown> | null,
      attempt: row.attempt,
      startedAt: row.startedAt,
      completedAt: row.completedAt,
      costMicroUsd: row.costMicroUsd,
      providerMs: row.providerMs,
    })),
  );
}

/** Rows in every table a request could write to. */
export async function rowCounts(database: Db) {
  return {
    jobs: await database.job.count(),
    executions: await database.workflowExecution.count(),
    checkpoints: await database.checkpoint.count(),
    uploads: await database.upload.count(),
    events: await database.jobEvent.count(),
  };
}

/** Every file under `dir` (relative paths), to check that a refused request wrote nothing. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const walk = (current: string) => {
    for (const name of readdirSync(current)) {
      const full = path.join(current, name);
      if (statSync(full).isDirectory()) walk(full);
      else out.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return out.sort();
}

/** A failing `expect` in a poll loop is easier to read with the job's whole state. */
export async function describeJob(database: Db, jobId: string): Promise<string> {
  const job = await database.job.findUnique({ where: { id: jobId } });
  return JSON.stringify({ status: job?.status, attempts: job?.attempts, error: job?.error, checkpoints: await checkpointsOf(database, jobId) });
}

const PG_BIN = "/usr/lib/postgresql/15/bin";

/**
 * A PostgreSQL cluster of this test's own (initdb in a temp dir, its own port and socket), so that
 * it can be restarted without touching the shared server other tests use.
 */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync(path.join(tmpdir(), "montage-pg-"));
    chmodSync(dir, 0o700);
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString().trim());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString().trim());
    chownSync(dir, uid, gid);
    const cluster = new PrivatePostgres(dir, await freePort());
    cluster.asPostgres(`${PG_BIN}/initdb`, ["-D", path.join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync"]);
    cluster.pgCtl(["start", "-w", "-t", "30"]);
    return cluster;
  }

  url(database = "postgres"): string {
    return `postgresql://postgres@127.0.0.1:${this.port}/${database}`;
  }

  /**
   * Creates a database with the project's PostgreSQL schema: a copy (pg_dump | psql) of the shared
   * template that `prisma migrate deploy` built (tests/helpers/templates.ts), which takes a fraction
   * of a second where running the Prisma CLI again takes over ten.
   */
  async createMigratedDatabase(name: string): Promise<string> {
    const admin = new pg.Client({ connectionString: this.url() });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const dump = execFileSync(`${PG_BIN}/pg_dump`, ["--no-owner", "--no-privileges", "-d", postgresUrl(await ensurePostgresTemplate())], { maxBuffer: 64 * 1024 * 1024 });
    execFileSync(`${PG_BIN}/psql`, ["-q", "-v", "ON_ERROR_STOP=1", "-d", this.url(name)], { input: dump, stdio: ["pipe", "ignore", "pipe"] });
    return this.url(name);
  }

  /**
   * Restarts the server; open connections are cut. "fast" shuts down cleanly, "immediate" stops like a
   * crash (no shutdown checkpoint; the WAL is replayed on start).
   */
  restart(mode: "fast" | "immediate"): void {
    this.pgCtl(["restart", "-m", mode, "-w", "-t", "30"]);
  }

  stop(): void {
    if (existsSync(path.join(this.dir, "data", "postmaster.pid"))) this.pgCtl(["stop", "-m", "immediate", "-w", "-t", "30"]);
  }

  remove(): void {
    this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private pgCtl(args: string[]): void {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    this.asPostgres(`${PG_BIN}/pg_ctl`, ["-D", path.join(this.dir, "data"), "-l", path.join(this.dir, "log"), "-o", options, ...args]);
  }

  private asPostgres(command: string, args: string[]): void {
    const result = spawnSync("runuser", ["-u", "postgres", "--", command, ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr || result.stdout}`);
  }
}
