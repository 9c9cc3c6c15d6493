/**
 * Applies the committed migrations of the database that DATABASE_URL selects (SQLite by default).
 * Run by `npm run db:migrate`, and by start-up before the server starts.
 *
 * On SQLite, a database that already has every committed migration is left alone: `prisma migrate
 * deploy` takes the database's write lock even when there is nothing to apply, and fails (after a
 * timeout) while a server holds the file, which would make a second `npm start` in the same folder
 * fail; the read-only check also saves the CLI's few seconds on every start.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { resolveDatabase } from "../lib/db/database-url";
import { prismaCliEnv } from "./prisma-env";
import { isMainModule } from "./write-if-changed";

/** The committed SQLite migrations that `filePath` has not finished applying (all when it does not exist). */
function pendingSqliteMigrations(root: string, filePath: string): string[] {
  const migrationsDir = path.join(root, "prisma/sqlite/migrations");
  const committed = readdirSync(migrationsDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(path.join(migrationsDir, entry.name, "migration.sql")))
    .map((entry) => entry.name);
  if (!existsSync(filePath)) return committed;
  const database = new Database(filePath, { readonly: true });
  try {
    const hasTable = database.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '_prisma_migrations'").get();
    if (!hasTable) return committed;
    const applied = new Set(
      (database.prepare("SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL").all() as { migration_name: string }[]).map(
        (row) => row.migration_name,
      ),
    );
    return committed.filter((name) => !applied.has(name));
  } finally {
    database.close();
  }
}

/** Migrates the database of `process.env` (DATABASE_URL, DATA_DIR); throws with a hint when it cannot. */
export function migrateDatabase(root: string): void {
  const target = resolveDatabase(process.env.DATABASE_URL, process.env.DATA_DIR ?? "./data");
  const where = `${target.provider}${target.provider === "sqlite" ? `: ${target.filePath}` : ""}`;
  if (target.provider === "sqlite" && pendingSqliteMigrations(root, target.filePath).length === 0) {
    console.log(`Database is up to date (${where}).`);
    return;
  }
  if (target.provider === "sqlite") mkdirSync(path.dirname(target.filePath), { recursive: true });
  try {
    execFileSync(path.join(root, "node_modules/.bin/prisma"), ["migrate", "deploy"], {
      stdio: ["ignore", "ignore", "inherit"],
      cwd: root,
      env: prismaCliEnv(),
    });
  } catch {
    const hint = target.provider === "sqlite" ? " If a Montage server is using this database, stop it and run this again: SQLite cannot be migrated under a running server." : "";
    throw new Error(`Could not migrate the database (${where}); Prisma's error is above.${hint}`);
  }
  console.log(`Database migrated (${where}).`);
}

if (isMainModule(import.meta.url)) {
  try {
    migrateDatabase(path.resolve(import.meta.dirname, ".."));
  } catch (error) {
    console.error((error as Error).message);
    process.exit(1);
  }
}
