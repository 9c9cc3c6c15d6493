import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { ensurePostgresTemplate, ensureSqliteTemplate, POSTGRES_ADMIN_URL, postgresUrl } from "./templates";

export type Provider = "sqlite" | "postgresql";

export interface TestDatabase {
  provider: Provider;
  url: string;
  dataDir: string;
  drop(): Promise<void>;
}

/**
 * A fresh, migrated database of its own and a temp DATA_DIR: a copy of the SQLite template, or a
 * PostgreSQL database cloned from the migrated template. `drop()` removes both.
 */
export async function createTestDatabase(provider: Provider): Promise<TestDatabase> {
  const dataDir = mkdtempSync(path.join(tmpdir(), "montage-test-"));
  if (provider === "sqlite") {
    const file = path.join(dataDir, "montage.db");
    copyFileSync(ensureSqliteTemplate(), file);
    return { provider, url: `file:${file}`, dataDir, drop: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const template = await ensurePostgresTemplate();
  const name = `montage_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
  await admin.end();
  return {
    provider,
    url: postgresUrl(name),
    dataDir,
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const MONTAGE_GLOBALS = ["montageConfig", "montageInngest", "montageDb", "montageProviders", "montageDriver", "montageDriverStarted", "montageJobNotifier", "montageRateLimits"];

/**
 * Points this test process at a test database: sets the environment that lib/config.ts reads and
 * forgets the process-wide singletons, so the next db()/providers()/workflowDriver() use it.
 */
export async function useTestEnvironment(database: TestDatabase, env: Record<string, string> = {}): Promise<void> {
  const globals = globalThis as Record<string, unknown>;
  // Stop the runner before closing its database, so in-flight steps can finish their writes.
  await (globals.montageDriver as { stop?: () => Promise<void> } | undefined)?.stop?.();
  await (globals.montageDb as { $disconnect?: () => Promise<void> } | undefined)?.$disconnect?.();
  for (const key of MONTAGE_GLOBALS) delete globals[key];
  Object.assign(process.env, {
    DATABASE_URL: database.url,
    DATA_DIR: database.dataDir,
    LOG_LEVEL: "silent",
    APP_URL: "http://localhost:3999",
    ...env,
  });
}
