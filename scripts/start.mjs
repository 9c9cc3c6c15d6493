// npm start: the embedded default in one command. Installs dependencies if needed, generates code,
// migrates the database, builds when the sources changed since the last build, and serves on PORT
// (default 3000). Plain Node, because it runs before dependencies exist.
import { execSync, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import path from "node:path";

const run = (command) => execSync(command, { stdio: "inherit" });

run("node scripts/ensure-deps.mjs");
run("npx tsx scripts/codegen.ts");
run("npx tsx scripts/db-migrate.ts");

function newestMtime(entry) {
  if (!existsSync(entry)) return 0;
  const stat = statSync(entry);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(stat.mtimeMs, ...readdirSync(entry).map((name) => newestMtime(path.join(entry, name))));
}

// public/ too: the home page's examples are regenerated there (scripts/generate-examples.ts) when their recipe changes.
const sources = ["app", "components", "lib", "workflows", "public", "instrumentation.ts", "next.config.mjs", "package-lock.json"];
const buildId = ".next/BUILD_ID";
const builtAt = existsSync(buildId) ? statSync(buildId).mtimeMs : 0;
if (Math.max(...sources.map(newestMtime)) > builtAt) {
  run("npx next build");
} else {
  console.log("Build is up to date.");
}

const port = process.env.PORT ?? "3000";
console.log(`Starting Montage on http://localhost:${port}`);
const server = spawn("npx", ["next", "start", "-p", port], { stdio: "inherit", env: { ...process.env, NODE_ENV: "production" } });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));
