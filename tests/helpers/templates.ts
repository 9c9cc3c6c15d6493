import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { prismaCliEnv } from "../../scripts/prisma-env";

/**
 * Migrated template databases, made once per migration set: tests copy a SQLite file or clone a
 * PostgreSQL database from them instead of migrating each time (epic-stack / graphile habit).
 */
const root = path.resolve(import.meta.dirname, "../..");
export const POSTGRES_ADMIN_URL = process.env.TEST_POSTGRES_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";

function migrationsHash(provider: "sqlite" | "postgresql"): string {
  const dir = path.join(root, "prisma", provider, "migrations");
  const hash = createHash("sha256");
  for (const name of readdirSync(dir).sort()) {
    const file = path.join(dir, name, "migration.sql");
    if (existsSync(file)) hash.update(name).update(readFileSync(file));
  }
  return hash.digest("hex").slice(0, 12);
}

function migrate(databaseUrl: string): void {
  execFileSync(path.join(root, "node_modules/.bin/prisma"), ["migrate", "deploy"], {
    cwd: root,
    env: { ...prismaCliEnv(), DATABASE_URL: databaseUrl },
    stdio: ["ignore", "ignore", "pipe"],
  });
}

export function sqliteTemplatePath(): string {
  return path.join(tmpdir(), "montage-test-templates", `sqlite-${migrationsHash("sqlite")}.db`);
}

export function postgresTemplateName(): string {
  return `montage_tpl_${migrationsHash("postgresql")}`;
}

export function ensureSqliteTemplate(): string {
  const file = sqliteTemplatePath();
  if (existsSync(file)) return file;
  mkdirSync(path.dirname(file), { recursive: true });
  const building = `${file}.${process.pid}.tmp`;
  rmSync(building, { force: true });
  migrate(`file:${building}`);
  renameSync(building, file);
  return file;
}

export async function ensurePostgresTemplate(): Promise<string> {
  const name = postgresTemplateName();
  const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await client.connect();
  try {
    // One builder at a time across test processes.
    await client.query("SELECT pg_advisory_lock(hashtext('montage-test-template'))");
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount === 0) {
      const building = `${name}_building`;
      await client.query(`DROP DATABASE IF EXISTS ${building}`);
      await client.query(`CREATE DATABASE ${building}`);
      migrate(postgresUrl(building));
      await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
    await client.query("SELECT pg_advisory_unlock(hashtext('montage-test-template'))");
  } finally {
    await client.end();
  }
  return name;
}

export function postgresUrl(database: string): string {
  const url = new URL(POSTGRES_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}
