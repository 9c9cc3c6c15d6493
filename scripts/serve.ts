/**
 * `npm start` after dependencies are installed (scripts/start.mjs runs it): generates code, migrates
 * the database, builds if the build's inputs changed, then serves (scripts/server.mjs) a copy of the build
 * that no later build, `npm test` or codegen in this folder can touch (scripts/served-build.ts), and
 * lets go of the copy when the server exits. One process for all of it: each extra `npx tsx` costs
 * a second or more on a busy machine.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { prepareServedBuild } from "./build";
import { runCodegen } from "./codegen";
import { migrateDatabase } from "./db-migrate";
import { releaseServedBuild } from "./served-build";

const root = path.resolve(import.meta.dirname, "..");
await runCodegen(root);
try {
  migrateDatabase(root);
} catch (error) {
  console.error((error as Error).message);
  process.exit(1);
}
const { distDir } = await prepareServedBuild({ root, owner: process.pid });

const port = process.env.PORT ?? "3000";
console.log(`Starting Montage on http://localhost:${port}`);
// Next.js behind a plain node:http server that serves the event stream itself (scripts/server.mjs).
const server = spawn(process.execPath, [path.join(root, "scripts/server.mjs")], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", MONTAGE_DIST_DIR: distDir, PORT: port },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => {
  // No lock needed: only this process writes its own entry, and removing it races with nothing.
  releaseServedBuild(root, distDir, process.pid);
  process.exit(code ?? (signal ? 1 : 0));
});
