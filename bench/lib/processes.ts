import { execFileSync } from "node:child_process";
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
  const { token } = await createApiToken(opened.prisma, user.id, "bench");
  return { database: opened.prisma, store: opened.store, close: opened.close, user, token };
}
