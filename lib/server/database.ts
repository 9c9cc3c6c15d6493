import "server-only";
import pg from "pg";
import { createPostgresPrisma, createSqlitePrisma, type Db } from "@/lib/db/client";
import type { DatabaseTarget } from "@/lib/db/database-url";
import { PostgresStore } from "@/lib/store/postgres/store";
import { SqliteStore } from "@/lib/store/sqlite/store";
import type { Store } from "@/lib/store/types";

export interface Database {
  store: Store;
  prisma: Db;
  close(): Promise<void>;
}

/** Connections per process on PostgreSQL (the store and Prisma share them; LISTEN takes one more). */
const POSTGRES_POOL_SIZE = 10;

/** Opens the database DATABASE_URL names: its store, and a Prisma client for tests and scripts (the app writes through the store only). */
export function openDatabase(target: DatabaseTarget): Database {
  if (target.provider === "postgresql") {
    const pool = new pg.Pool({ connectionString: target.url, max: POSTGRES_POOL_SIZE });
    // An idle connection that fails (the server restarted) must not crash the process; the next query reconnects.
    pool.on("error", () => undefined);
    // Nor one that fails while checked out (in a transaction, the store's or Prisma's): pg emits
    // "error" on the client as well as failing its query, and the pool listens only to idle clients.
    // The query's own rejection reports the failure; the pool drops the broken client on release.
    pool.on("connect", (client) => client.on("error", () => undefined));
    return opened(new PostgresStore(pool, target.url), createPostgresPrisma(pool));
  }
  return opened(new SqliteStore(target.filePath), createSqlitePrisma(target.url));
}

function opened(store: Store, prisma: Db): Database {
  return {
    store,
    prisma,
    async close() {
      await prisma.$disconnect();
      await store.close();
    },
  };
}
