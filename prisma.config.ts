/**
 * Prisma CLI configuration. Montage runs Prisma 6.19 with the JS engine and driver adapters (no
 * native engines: they cannot be downloaded on our machines), on SQLite or PostgreSQL as
 * DATABASE_URL says. See docs/decisions/2026-11-26-prisma-two-providers.md.
 */
import path from "node:path";
import { defineConfig } from "prisma/config";
import { resolveDatabase } from "./lib/db/database-url";

const target = resolveDatabase(process.env.DATABASE_URL, process.env.DATA_DIR ?? "./data");
const dir = path.join("prisma", target.provider);

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join(dir, "schema.prisma"),
  migrations: { path: path.join(dir, "migrations") },
  async adapter() {
    if (target.provider === "postgresql") {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      return new PrismaPg({ connectionString: target.url });
    }
    const { PrismaBetterSQLite3 } = await import("@prisma/adapter-better-sqlite3");
    return new PrismaBetterSQLite3({ url: target.url });
  },
});
