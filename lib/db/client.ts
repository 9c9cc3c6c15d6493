import "server-only";
import { PrismaClient as SqliteClient } from "@/lib/db/generated/sqlite/client";
import { PrismaClient as PostgresClient } from "@/lib/db/generated/postgresql/client";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import type pg from "pg";

/**
 * Prisma: the schema and migration tool, and the client tests and scripts use to arrange and read
 * data. The app reads and writes through the store (lib/store/) only
 * (docs/decisions/2026-12-02-accounts-in-the-store.md). Both generated clients expose the same model API (one models file), so code
 * is written against one type: the SQLite client's; the PostgreSQL one is structurally the same.
 */
export type Db = SqliteClient;
export type { Prisma } from "@/lib/db/generated/sqlite/client";

/** A Prisma client on SQLite: its own connection to the file (the store has another; WAL lets both work). */
export function createSqlitePrisma(url: string): Db {
  return new SqliteClient({ adapter: new PrismaBetterSQLite3({ url, timeout: 10_000 }) });
}

/** A Prisma client on PostgreSQL, sharing the store's pool: one set of connections per process. */
export function createPostgresPrisma(pool: pg.Pool): Db {
  return new PostgresClient({ adapter: new PrismaPg(pool) }) as unknown as Db;
}
