import { execFileSync } from "node:child_process";
import os from "node:os";
import Database from "better-sqlite3";
import pg from "pg";
import { POSTGRES_ADMIN_URL } from "../../tests/helpers/templates";

/** What the figures were measured on: they mean little without it. */
export async function describeMachine() {
  const sqlite = (new Database(":memory:").prepare("select sqlite_version() as v").get() as { v: string }).v;
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  const postgres = ((await client.query("show server_version")).rows[0] as { server_version: string }).server_version;
  const synchronousCommit = ((await client.query("show synchronous_commit")).rows[0] as { synchronous_commit: string }).synchronous_commit;
  await client.end();
  const cpu = os.cpus()[0]?.model ?? "unknown CPU";
  let fdLimit = "unknown";
  try {
    fdLimit = execFileSync("sh", ["-c", "ulimit -n"]).toString().trim();
  } catch {
    // not a POSIX shell: leave unknown
  }
  const info = {
    nproc: os.availableParallelism(),
    cpu,
    memoryGb: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    sqlite,
    postgres,
    postgresSynchronousCommit: synchronousCommit,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    fdLimit,
  };
  return {
    ...info,
    summary: `${info.nproc} cores (${cpu}), ${info.memoryGb} GB, Node ${info.node}, SQLite ${sqlite}, PostgreSQL ${postgres} (synchronous_commit=${synchronousCommit}), load average at start ${info.loadAverageAtStart.join("/")}`,
  };
}
