/**
 * The serving half of `npm start` (scripts/start.mjs runs it after code generation and migrations):
 * builds if the sources changed, then runs `next start` on a copy of the build that no later build,
 * `npm test` or codegen in this folder can touch (scripts/served-build.ts), and lets go of the copy
 * when the server exits.
 */
import { spawn } from "node:child_process";
import path from "node:path";
import { prepareServedBuild } from "./build";
import { releaseServedBuild } from "./served-build";

const root = path.resolve(import.meta.dirname, "..");
const { distDir } = await prepareServedBuild({ root, owner: process.pid });

const port = process.env.PORT ?? "3000";
console.log(`Starting Montage on http://localhost:${port}`);
const server = spawn(process.execPath, [path.join(root, "node_modules/next/dist/bin/next"), "start", "-p", port], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, NODE_ENV: "production", NEXT_TELEMETRY_DISABLED: "1", MONTAGE_DIST_DIR: distDir },
});
for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => server.kill(signal));
server.on("exit", (code, signal) => {
  // No lock needed: only this process writes its own entry, and removing it races with nothing.
  releaseServedBuild(root, distDir, process.pid);
  process.exit(code ?? (signal ? 1 : 0));
});
