/**
 * npm run token:create -- --email <email> [--name <name>]
 * Creates the user if needed and prints a new API token on a line of its own (shown once).
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { createApiToken } from "@/lib/auth/tokens";
import { loadConfig } from "@/lib/config";
import { openDatabase } from "@/lib/server/database";

const { values } = parseArgs({ options: { email: { type: "string" }, name: { type: "string" } } });
const email = z.email().safeParse(values.email?.trim().toLowerCase());
if (!email.success) {
  console.error("Usage: npm run token:create -- --email <email> [--name <token name>]");
  process.exit(2);
}
const database = openDatabase(loadConfig(process.env).database);
const user = await database.store.ensureUser(email.data);
const { token } = await createApiToken(database.store, user.id, values.name ?? "CLI token");
console.error(`Created an API token for ${user.email}. It is shown once; store it now:`);
console.log(token);
await database.close();
