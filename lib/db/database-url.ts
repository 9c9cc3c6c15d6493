import path from "node:path";

export type DatabaseTarget =
  | { provider: "sqlite"; url: string; filePath: string }
  | { provider: "postgresql"; url: string };

/**
 * The one rule that picks the database: unset or `file:` → SQLite under DATA_DIR; `postgres://` or
 * `postgresql://` → PostgreSQL. Shared by the runtime client and prisma.config.ts (the CLI).
 */
export function resolveDatabase(databaseUrl: string | undefined, dataDir: string): DatabaseTarget {
  const url = databaseUrl?.trim() || `file:${path.join(dataDir, "montage.db")}`;
  if (url.startsWith("postgres://") || url.startsWith("postgresql://")) {
    return { provider: "postgresql", url };
  }
  if (url.startsWith("file:")) {
    const filePath = path.resolve(url.slice("file:".length).replace(/^\/\/(?=\/)/, ""));
    return { provider: "sqlite", url: `file:${filePath}`, filePath };
  }
  throw new Error(
    `DATABASE_URL must start with file:, postgres:// or postgresql:// (got a value starting with "${url.slice(0, 12)}")`,
  );
}
