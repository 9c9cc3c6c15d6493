import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { sleep } from "./stats";

export const root = path.resolve(import.meta.dirname, "../..");

/** Resident memory of a whole process group, in bytes (next start may run more than one process). */
export function groupRssBytes(pid: number): number {
  try {
    const out = execFileSync("ps", ["-o", "rss=", "-g", String(pid)]).toString();
    return out.split("\n").reduce((sum, line) => sum + (Number(line.trim()) || 0), 0) * 1024;
  } catch {
    return Number.NaN;
  }
}

export interface Spawned {
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Spawns a tsx script in a process group of its own, and waits until `healthUrl` answers. */
export async function spawnTsx(script: string, args: string[], healthUrl: string): Promise<Spawned> {
  const child = spawn(path.join(root, "node_modules/.bin/tsx"), [path.join(root, script), ...args], {
    cwd: root,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${script} exited early:\n${output}`);
    try {
      if ((await fetch(healthUrl)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${script} did not start:\n${output}`);
    await sleep(100);
  }
  return {
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      process.kill(-child.pid!, "SIGTERM");
      await exited;
    },
  };
}

/**
 * The server sections need the production build (.next). Another build may be replacing it right
 * now (BUILD_ID is missing meanwhile): wait for it rather than fail.
 */
export async function waitForProductionBuild(log: (message: string) => void, timeoutMs = 600_000): Promise<void> {
  const { existsSync } = await import("node:fs");
  const buildId = path.join(root, ".next/BUILD_ID");
  if (existsSync(buildId)) return;
  log("no .next/BUILD_ID: waiting for a running `next build` to finish (or run `npm run build`)");
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(buildId)) {
    if (Date.now() > deadline) throw new Error("No production build: run `npm run build` first.");
    await sleep(2000);
  }
  await sleep(2000);
}
