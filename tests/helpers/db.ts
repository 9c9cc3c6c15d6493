import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { randomBytes } from "node:crypto";
import pg from "pg";
import { loadConfig } from "@/lib/config";
import type { InProcessRunner } from "@/lib/engine/in-process-runner";
import { createRuntime, installRuntime, type Runtime, type RuntimeOverrides } from "@/lib/server/runtime";
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

/** What a test runtime starts from: the embedded default, quiet, on the test's database. */
export function testEnv(database: TestDatabase, env: Record<string, string> = {}): Record<string, string | undefined> {
  return { DATABASE_URL: database.url, DATA_DIR: database.dataDir, LOG_LEVEL: "silent", APP_URL: "http://localhost:3999", ...env };
}

/**
 * Builds a runtime on a test database (lib/server/runtime.ts) and installs it as the process's,
 * so that route handlers called in the test use it. The previous one is stopped first (its runner
 * finishes its in-flight writes) and its database closed. The driver is not started: tests run the
 * sweep when they want it (runtime.driver.start(), or the in-process runner's tick()).
 */
export async function useTestEnvironment(database: TestDatabase, env: Record<string, string> = {}, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  await closeTestEnvironment();
  const rt = createRuntime(loadConfig(testEnv(database, env)), overrides);
  installRuntime(rt);
  installed = rt;
  return rt;
}

let installed: Runtime | undefined;

/** Stops and forgets the installed test runtime. */
export async function closeTestEnvironment(): Promise<void> {
  const previous = installed;
  installed = undefined;
  installRuntime(undefined);
  await previous?.stop();
}

/** The in-process runner of a runtime (tests that drive the sweep or await a run). */
export function inProcessRunner(rt: Runtime): InProcessRunner {
  const runner = (rt.driver as { runner?: InProcessRunner }).runner;
  if (!runner) throw new Error(`the ${rt.driver.name} driver has no in-process runner`);
  return runner;
}
