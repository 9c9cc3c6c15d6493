import { PrismaClient as SqliteClient } from "@/lib/db/generated/sqlite/client";
import { PrismaClient as PostgresClient } from "@/lib/db/generated/postgresql/client";
import type { DatabaseTarget } from "@/lib/db/database-url";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { config } from "@/lib/config";

/**
 * Both generated clients expose the same model API (they come from one models file), so the
 * code is written against one type. The SQLite client's type is used; the PostgreSQL one is
 * structurally the same.
 */
export type Db = SqliteClient;
export type { Prisma } from "@/lib/db/generated/sqlite/client";

/** Which SQL dialect a client speaks, for the few hot paths written in SQL (lib/engine/step-commit.ts). */
const dialects = new WeakMap<object, DatabaseTarget["provider"]>();
export function dialectOf(database: Db): DatabaseTarget["provider"] | undefined {
  return dialects.get(database);
}

export function createDb(target: DatabaseTarget): Db {
  if (target.provider === "postgresql") {
    const adapter = new PrismaPg({ connectionString: target.url, max: 10 });
    const client = new PostgresClient({ adapter }) as unknown as Db;
    dialects.set(client, "postgresql");
    return client;
  }
  mkdirSync(path.dirname(target.filePath), { recursive: true });
  const client = new SqliteClient({ adapter: new PrismaBetterSQLite3({ url: target.url, timeout: 10_000 }) });
  dialects.set(client, "sqlite");
  // WAL lets the stream read while a step commits; NORMAL syncs at checkpoints, which in WAL mode
  // survives process crashes (kill -9) and loses at most the last commits on power loss.
  // See docs/decisions/2026-11-26-sqlite-wal.md.
  void client.$queryRawUnsafe("PRAGMA journal_mode = WAL").then(() =>
    client.$executeRawUnsafe("PRAGMA synchronous = NORMAL"),
  );
  return client;
}

// One client per process. Next.js bundles route handlers and instrumentation separately, so the
// singleton lives on globalThis to be shared between them.
const globalForDb = globalThis as unknown as { montageDb?: Db };

export function db(): Db {
  globalForDb.montageDb ??= createDb(config().database);
  return globalForDb.montageDb;
}
