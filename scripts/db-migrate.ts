/**
 * Applies the committed migrations of the database that DATABASE_URL selects (SQLite by default).
 * Run by `npm run db:migrate`, and by start-up before the server starts.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import { resolveDatabase } from "../lib/db/database-url";
import { prismaCliEnv } from "./prisma-env";

const root = path.resolve(import.meta.dirname, "..");
const target = resolveDatabase(process.env.DATABASE_URL, process.env.DATA_DIR ?? "./data");
if (target.provider === "sqlite") mkdirSync(path.dirname(target.filePath), { recursive: true });
execFileSync(path.join(root, "node_modules/.bin/prisma"), ["migrate", "deploy"], {
  stdio: ["ignore", "ignore", "inherit"],
  cwd: root,
  env: prismaCliEnv(),
});
console.log(`Database migrated (${target.provider}${target.provider === "sqlite" ? `: ${target.filePath}` : ""}).`);
