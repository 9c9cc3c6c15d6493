import "server-only";
import { mkdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { type INCREMENT, type ColumnType, type ColumnValue } from "@/lib/store/plans";

/**
 * The SQLite store's own connection. better-sqlite3 runs each statement synchronously, so a
 * transaction of several statements is one uninterrupted piece of work (nothing else of the
 * process can run inside it) at a few microseconds a statement: the hot path costs almost nothing
 * beyond the commit.
 *
 * WAL lets readers (Prisma's connection, other processes) read while a step commits; NORMAL syncs
 * at checkpoints, which in WAL mode survives process crashes (kill -9) and loses at most the last
 * commits on power loss (docs/decisions/2026-11-26-sqlite-wal.md). A busy timeout covers a second
 * process writing the same file.
 */
export class SqliteConnection {
  readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();

  constructor(filePath: string) {
    mkdirSync(path.dirname(filePath), { recursive: true });
    this.db = new Database(filePath, { timeout: 10_000 });
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
  }

  /** A prepared statement, prepared once (SQL text from the store only; values are bound). */
  statement(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) this.statements.set(sql, (statement = this.db.prepare(sql)));
    return statement;
  }

  run(sql: string, ...params: unknown[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }

  get<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T | undefined {
    return this.statement(sql).get(...params) as T | undefined;
  }

  all<T = Record<string, unknown>>(sql: string, ...params: unknown[]): T[] {
    return this.statement(sql).all(...params) as T[];
  }

  /** Runs `work` as one write transaction (BEGIN IMMEDIATE: the write lock is taken first, so it never fails half-way for a lock). */
  write<T>(work: () => T): T {
    return this.db.transaction(work).immediate();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Times in the format Prisma's SQLite adapter writes (ISO 8601 with an explicit +00:00), so that
 * text comparisons and Prisma's own reads of these tables agree.
 */
export function sqliteTime(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

/** A plan's column value as a bound SQLite parameter. */
export function sqliteValue(type: ColumnType, value: Exclude<ColumnValue, typeof INCREMENT>): unknown {
  if (value === null) return null;
  if (type === "timestamp") return sqliteTime(value as Date);
  if (type === "json") return JSON.stringify((value as { json: unknown }).json);
  return value;
}
