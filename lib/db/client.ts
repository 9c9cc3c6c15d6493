import { PrismaClient as SqliteClient } from "@/lib/db/generated/sqlite/client";
import { PrismaClient as PostgresClient } from "@/lib/db/generated/postgresql/client";
import type { DatabaseTarget } from "@/lib/db/database-url";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaPg } from "@prisma/adapter-pg";
import { config } from "@/lib/config";
import { log } from "@/lib/log";

/**
 * Both generated clients expose the same model API (they come from one models file), so the
 * code is written against one type. The SQLite client's type is used; the PostgreSQL one is
 * structurally the same.
 */
export type Db = SqliteClient;
export type { Prisma } from "@/lib/db/generated/sqlite/client";

/** Which SQL dialect a client speaks, for the few hot paths written in SQL (lib/engine/executor.ts, lib/engine/lease.ts). */
const dialects = new WeakMap<object, DatabaseTarget["provider"]>();
export function dialectOf(database: Db): DatabaseTarget["provider"] | undefined {
  return dialects.get(database);
}

/**
 * Timestamps for those SQL paths, in the formats Prisma writes them: SQLite text with an explicit
 * offset (the better-sqlite3 adapter's iso8601 format, so text comparisons agree with Prisma's);
 * PostgreSQL timestamp(3) in UTC (cast with `::timestamp(3)`).
 */
export function sqliteTime(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}
export function postgresTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "");
}

/**
 * The better-sqlite3 connection under a SQLite client's adapter, as far as the engine uses it.
 * Prisma's SQLite adapter runs every query synchronously on this one connection; its transactions
 * take a lock of the adapter's own and hold BEGIN ... COMMIT open across awaits.
 */
export interface SqliteConnection {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(sql: string): SqliteStatement;
}
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}
interface SqliteAdapterTransaction {
  commit(): Promise<void>;
  rollback(): Promise<void>;
}
interface SqliteAdapter {
  startTransaction(): Promise<SqliteAdapterTransaction>;
}
const sqliteAdapters = new WeakMap<object, { adapter: SqliteAdapter; connection: SqliteConnection }>();
const sqliteStatements = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

/** A prepared statement of that connection, prepared once (SQL text from the engine only; values are bound). */
export function sqliteStatement(connection: SqliteConnection, sql: string): SqliteStatement {
  let cache = sqliteStatements.get(connection);
  if (!cache) sqliteStatements.set(connection, (cache = new Map()));
  let statement = cache.get(sql);
  if (!statement) cache.set(sql, (statement = connection.prepare(sql)));
  return statement;
}

/**
 * Runs `work` (synchronous statements) on a SQLite client's own connection, skipping Prisma's
 * per-query cost (about 0.1–0.4 ms of CPU a statement), which on SQLite is nearly all of a step's
 * cost (docs/performance.md). Undefined when the client has no such connection (another dialect,
 * not made by createDb, not connected yet, or closed): the caller then goes through Prisma.
 *
 * With `transaction`, the statements are one transaction. When no Prisma transaction is open on
 * the connection, the work runs at once, BEGIN IMMEDIATE to COMMIT with no await in between, so
 * nothing else of the process can run inside it. When one is open, the work waits for the
 * adapter's own transaction lock (the one Prisma's transactions take, in their order), so it never
 * joins, or is rolled back with, someone else's transaction.
 */
export function onSqliteConnection<T>(database: Db, work: (connection: SqliteConnection) => T, options: { transaction?: boolean } = {}): Promise<T> | undefined {
  const entry = sqliteAdapters.get(database);
  if (!entry || !entry.connection.open) return undefined;
  const { adapter, connection } = entry;
  const rollback = () => {
    if (connection.inTransaction) sqliteStatement(connection, "ROLLBACK").run();
  };
  if (!connection.inTransaction) {
    try {
      if (!options.transaction) return Promise.resolve(work(connection));
      sqliteStatement(connection, "BEGIN IMMEDIATE").run();
      const result = work(connection);
      sqliteStatement(connection, "COMMIT").run();
      return Promise.resolve(result);
    } catch (error) {
      if (options.transaction) rollback();
      return Promise.reject(error);
    }
  }
  return (async () => {
    const transaction = await adapter.startTransaction();
    let result: T;
    try {
      result = work(connection);
      sqliteStatement(connection, "COMMIT").run();
    } catch (error) {
      rollback();
      await transaction.rollback();
      throw error;
    }
    await transaction.commit();
    return result;
  })();
}

/** The `pg` pool under a PostgreSQL client's adapter, as far as the engine uses it. */
interface PgPool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{ rows: unknown[]; rowCount: number | null }>;
  readonly ending?: boolean;
  readonly ended?: boolean;
}
const pgPools = new WeakMap<object, PgPool>();
const pgStatementNames = new Map<string, string>();

/**
 * Runs one statement (SQL text from the engine only; values are bound) on a PostgreSQL client's
 * own pool, as a named prepared statement (parsed and planned once per connection), skipping
 * Prisma's per-query cost. A single statement commits on its own, on whichever pooled connection
 * is free, so it never meets a Prisma transaction (those hold their own connection). Undefined
 * when the client has no such pool (another dialect, not made by createDb, not connected yet, or
 * closed): the caller then goes through Prisma.
 */
export function onPostgresPool<R>(database: Db, text: string, values: unknown[]): Promise<{ rows: R[]; rowCount: number }> | undefined {
  const pool = pgPools.get(database);
  if (!pool || pool.ending || pool.ended) return undefined;
  let name = pgStatementNames.get(text);
  if (!name) pgStatementNames.set(text, (name = `montage_engine_${pgStatementNames.size + 1}`));
  return pool.query({ name, text, values }).then((result) => ({ rows: result.rows as R[], rowCount: result.rowCount ?? 0 }));
}

/**
 * WAL lets the stream read while a step commits; NORMAL syncs at checkpoints, which in WAL mode
 * survives process crashes (kill -9) and loses at most the last commits on power loss (see
 * docs/decisions/2026-11-26-sqlite-wal.md). Set as the connection opens: once a transaction is
 * open (a client's first query may be one) SQLite refuses to change the safety level.
 */
function setSqlitePragmas(connection: SqliteConnection): void {
  connection.prepare("PRAGMA journal_mode = WAL").get();
  connection.prepare("PRAGMA synchronous = NORMAL").run();
}

export function createDb(target: DatabaseTarget): Db {
  if (target.provider === "postgresql") {
    const factory = new PrismaPg({ connectionString: target.url, max: 10 });
    // Keep a reference to the pool the adapter opens (see onPostgresPool).
    const connect = factory.connect.bind(factory);
    factory.connect = async () => {
      const adapter = await connect();
      const pool = (adapter as unknown as { client?: PgPool }).client;
      if (pool && typeof pool.query === "function") pgPools.set(client, pool);
      return adapter;
    };
    const client = new PostgresClient({ adapter: factory }) as unknown as Db;
    dialects.set(client, "postgresql");
    return client;
  }
  mkdirSync(path.dirname(target.filePath), { recursive: true });
  const factory = new PrismaBetterSQLite3({ url: target.url, timeout: 10_000 });
  // Keep a reference to the adapter and the connection it opens (see onSqliteConnection), and set
  // the connection's pragmas before any query runs on it.
  const connect = factory.connect.bind(factory);
  factory.connect = async () => {
    const adapter = await connect();
    const connection = (adapter as unknown as { client?: SqliteConnection }).client;
    if (connection && typeof connection.prepare === "function" && typeof connection.inTransaction === "boolean") {
      setSqlitePragmas(connection);
      sqliteAdapters.set(client, { adapter: adapter, connection });
    } else {
      // Not the connection we know (an adapter upgrade): the pragmas go through Prisma once
      // connected, and are skipped with a warning if the first query is a transaction (SQLite
      // refuses to change the safety level inside one).
      setImmediate(() =>
        void client
          .$queryRawUnsafe("PRAGMA journal_mode = WAL")
          .then(() => client.$executeRawUnsafe("PRAGMA synchronous = NORMAL"))
          .catch((error: unknown) => log.warn("could not set the SQLite pragmas", { error })),
      );
    }
    return adapter;
  };
  const client = new SqliteClient({ adapter: factory });
  dialects.set(client, "sqlite");
  return client;
}

// One client per process. Next.js bundles route handlers and instrumentation separately, so the
// singleton lives on globalThis to be shared between them.
const globalForDb = globalThis as unknown as { montageDb?: Db };

export function db(): Db {
  globalForDb.montageDb ??= createDb(config().database);
  return globalForDb.montageDb;
}
