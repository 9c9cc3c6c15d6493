// npm run dev:inngest: Montage (next dev) and the Inngest dev server side by side, for developers
// with internet access (the dev server is downloaded by npx). Montage runs with INNGEST_DEV=1, so
// jobs go through Inngest; the dashboard is at http://localhost:8288. Ctrl-C stops both, and if
// either one exits, the other is stopped too. See docs/inngest.md.
import { spawn } from "node:child_process";

const port = process.env.PORT ?? "3000";
const shell = process.platform === "win32";
const children = [];
let exitCode;

function start(name, command, args, env) {
  const child = spawn(command, args, { stdio: "inherit", shell, env: { ...process.env, ...env } });
  child.on("exit", (code, signal) => {
    console.log(`[dev:inngest] ${name} exited (${signal ?? code})`);
    exitCode ??= code ?? 0;
    stopAll("SIGTERM");
    if (children.every((other) => other.exitCode !== null || other.signalCode !== null)) process.exit(exitCode);
  });
  children.push(child);
}

function stopAll(signal) {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
}

for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => stopAll(signal));

start("montage", "npm", ["run", "dev"], { INNGEST_DEV: process.env.INNGEST_DEV || "1", NEXT_TELEMETRY_DISABLED: "1", PORT: port });
start("inngest dev server", "npx", ["--yes", "inngest-cli@latest", "dev", "-u", `http://localhost:${port}/api/inngest`, "--no-discovery"]);
console.log(`[dev:inngest] Montage on http://localhost:${port}, Inngest dashboard on http://localhost:8288`);
