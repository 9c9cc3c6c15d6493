import { execFileSync, fork, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { spawnUntilHealthy, type SpawnedProcess } from "../../tests/helpers/server";

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

/** CPU time (user + system) of a whole process group so far, in milliseconds, from /proc. */
export function groupCpuMs(pid: number): number {
  try {
    const pids = execFileSync("ps", ["-o", "pid=", "-g", String(pid)]).toString().split("\n").map((line) => line.trim()).filter(Boolean);
    const ticksPerSecond = 100; // USER_HZ on Linux
    let ticks = 0;
    for (const one of pids) {
      try {
        // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
        const stat = readFileSync(`/proc/${one}/stat`, "utf8");
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        ticks += Number(fields[11]) + Number(fields[12]);
      } catch {
        // the process ended between ps and the read
      }
    }
    return (ticks * 1000) / ticksPerSecond;
  } catch {
    return Number.NaN;
  }
}

/** Spawns a tsx script in a process group of its own, and waits until `healthUrl` answers. */
export function spawnTsx(script: string, args: string[], healthUrl: string): Promise<SpawnedProcess> {
  return spawnUntilHealthy(path.join(root, "node_modules/.bin/tsx"), [path.join(root, script), ...args], { healthUrl });
}

/** A user with an API token in a bench database made by createTestDatabase. */
export async function createBenchUser(testDb: { url: string; dataDir: string }, email: string) {
  const { openDatabase } = await import("@/lib/server/database");
  const { resolveDatabase } = await import("@/lib/db/database-url");
  const { createApiToken } = await import("@/lib/auth/tokens");
  const opened = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
  const user = await opened.prisma.user.create({ data: { email } });
  const { token } = await createApiToken(opened.store, user.id, "bench");
  return { database: opened.prisma, store: opened.store, close: opened.close, user, token };
}

/** A forked tsx script that answers messages in order (bench/stream-client.ts, bench/stream-writer.ts). */
export interface Conversation<Request, Reply> {
  child: ChildProcess;
  /** Sends a request and resolves with the next reply (rejects if the process exits first). */
  ask(request: Request): Promise<Reply>;
  /** Sends a request that has no reply, and waits for the process to exit (killed after `graceMs`). */
  end(request: Request, graceMs?: number): Promise<void>;
}

/**
 * Forks `script` with tsx and an IPC channel, and waits for its first message (it is listening).
 * A process of its own is an event loop of its own: what it does is not delayed by the parent's.
 */
export async function forkTsx<Request, Reply>(script: string, args: string[]): Promise<Conversation<Request, Reply>> {
  // As the bench itself runs (package.json): lib/ modules marked server-only load under react-server.
  const execArgv = ["--conditions=react-server", "--import", "tsx"];
  const child = fork(path.join(root, script), args, { cwd: root, execArgv, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting: { resolve(reply: Reply): void; reject(error: Error): void }[] = [];
  let exited = false;
  child.on("message", (reply) => waiting.shift()?.resolve(reply as Reply));
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      exited = true;
      for (const one of waiting.splice(0)) one.reject(new Error(`${script} exited (${code}) before it answered`));
      resolve();
    }),
  );
  const next = () => new Promise<Reply>((resolve, reject) => (exited ? reject(new Error(`${script} has exited`)) : waiting.push({ resolve, reject })));
  await next();
  return {
    child,
    ask(request) {
      const reply = next();
      child.send(request as object);
      return reply;
    },
    async end(request, graceMs = 5000) {
      if (!exited) child.send(request as object);
      const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
      await exit;
      clearTimeout(timer);
    },
  };
}
