// npm start: the embedded default in one command. Installs dependencies if needed, then (in
// scripts/serve.ts) generates code (only what changed), migrates the database, builds when the
// build's inputs changed since the last build, and serves on PORT (default 3000) from a copy of the
// build that a later build cannot break. Plain Node, because it runs before dependencies exist.
import { execSync, spawn } from "node:child_process";
import net from "node:net";

const run = (command) => execSync(command, { stdio: "inherit" });

// Said before any work: a second start on a port that is taken would only fail at the very end.
const port = process.env.PORT ?? "3000";
const portIsFree = await new Promise((resolve) => {
  const probe = net.createServer();
  probe.once("error", () => resolve(false));
  probe.listen(Number(port), () => probe.close(() => resolve(true)));
});
if (!portIsFree) {
  console.error(`Port ${port} is already in use (is Montage already running?). Stop that server, or serve on another port: PORT=3001 npm start`);
  process.exit(1);
}

run("node scripts/ensure-deps.mjs");

// Code generation, migrations, the build and the server, in one TypeScript process.
const server = spawn(process.execPath, ["--import", "tsx", "scripts/serve.ts"], { stdio: "inherit" });
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.kill(signal));
server.on("exit", (code) => process.exit(code ?? 0));
