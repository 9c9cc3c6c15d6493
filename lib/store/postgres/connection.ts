import "server-only";
import pg from "pg";
import { type INCREMENT, type ColumnType, type ColumnValue } from "@/lib/store/plans";

/**
 * The PostgreSQL store's connections: one `pg` pool per process, which Prisma's adapter shares
 * (lib/server/database.ts), so Prisma (tests, scripts) and the store draw from the same connections.
 *
 * Every statement of the store is a named prepared statement (parsed and planned once per
 * connection); SQL text comes from the store only, values are bound. Timestamps are
 * `timestamp(3)` in UTC, as Prisma writes them: they are sent as UTC text and read back as UTC.
 */
export class PostgresConnection {
  private readonly names = new Map<string, string>();

  constructor(readonly pool: pg.Pool) {}

  query<R extends Record<string, unknown> = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<QueryResult<R>> {
    return this.run(this.pool, text, values);
  }

  /** Several statements in one transaction, on one pooled connection. */
  async transaction<T>(work: (query: Query) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection lost mid-transaction (PostgreSQL restarting) fails the query in flight; the
    // client is then destroyed on release instead of going back to the pool.
    let lost: Error | undefined;
    const onLost = (error: Error) => {
      lost = error;
    };
    client.on("error", onLost);
    const query: Query = (text, values = []) => this.run(client, text, values);
    try {
      await client.query("BEGIN");
      const result = await work(query);
      await client.query("COMMIT");
      return result;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.off("error", onLost);
      client.release(lost);
    }
  }

  private async run<R extends Record<string, unknown>>(on: pg.Pool | pg.PoolClient, text: string, values: unknown[]): Promise<QueryResult<R>> {
    let name = this.names.get(text);
    if (!name) this.names.set(text, (name = `montage_store_${this.names.size + 1}`));
    const result = await on.query<R>({ name, text, values, types: UTC_TYPES });
    return { rows: result.rows, rowCount: result.rowCount ?? 0 };
  }
}

export interface QueryResult<R> {
  rows: R[];
  rowCount: number;
}
export type Query = <R extends Record<string, unknown> = Record<string, unknown>>(text: string, values?: unknown[]) => Promise<QueryResult<R>>;

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;
const INT8 = 20;

/** pg's parsers, except that `timestamp` (which Prisma writes in UTC) is read as UTC, not local time. */
const UTC_TYPES = {
  getTypeParser(oid: number, format?: "text" | "binary") {
    if (oid === TIMESTAMP_WITHOUT_TIME_ZONE && format !== "binary") return (value: string) => new Date(`${value.replace(" ", "T")}Z`);
    if (oid === INT8 && format !== "binary") return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

/** A time as a `timestamp(3)` parameter in UTC. */
export function postgresTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "");
}

/** A plan's column value as a bound parameter, and the cast that goes with it. */
export function postgresValue(type: ColumnType, value: Exclude<ColumnValue, typeof INCREMENT>): { value: unknown; cast: string } {
  const cast = { text: "::text", int: "::int", timestamp: "::timestamp(3)", json: "::jsonb" }[type];
  if (value === null) return { value: null, cast };
  if (type === "timestamp") return { value: postgresTime(value as Date), cast };
  if (type === "json") return { value: JSON.stringify((value as { json: unknown }).json), cast };
  return { value, cast };
}
