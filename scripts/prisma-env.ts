import path from "node:path";
import { resolveDatabase } from "../lib/db/database-url";

/**
 * Prisma's CLI checks for its native engine files at start-up and tries to download them when
 * missing. Montage runs the JS engine (driver adapters), which never executes them, so any existing
 * file satisfies the check and keeps the CLI offline. See ../shared/ENVIRONMENT.md.
 */
export function prismaCliEnv(): NodeJS.ProcessEnv {
  const placeholder = path.resolve(import.meta.dirname, "../package.json");
  // The schema's datasource needs DATABASE_URL to validate, even though the adapter connects.
  const target = resolveDatabase(process.env.DATABASE_URL, process.env.DATA_DIR ?? "./data");
  return {
    ...process.env,
    DATABASE_URL: target.url,
    PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? placeholder,
    PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? placeholder,
    PRISMA_HIDE_UPDATE_MESSAGE: "1",
    CHECKPOINT_DISABLE: "1",
  };
}
