/**
 * One builder at a time per checkout: `next build` empties `.next` before it writes, so two builds
 * (say `npm start` and `npm test` started together) would each destroy the other's output. The lock
 * is a file holding the holder's pid, created exclusively; a second builder waits for it, and a lock
 * whose process is gone is taken over.
 */
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

export const BUILD_LOCK = ".next-build.lock";
const POLL_MS = 250;
/** A lock file left empty (its writer died between create and write) counts as stale after this long. */
const EMPTY_LOCK_GRACE_MS = 10_000;

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function holderOf(lockFile: string): { pid: number | undefined; stale: boolean } | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockFile, "utf8"), 10);
    if (Number.isInteger(pid) && pid > 0) return { pid, stale: !isProcessAlive(pid) };
    return { pid: undefined, stale: Date.now() - statSync(lockFile).mtimeMs > EMPTY_LOCK_GRACE_MS };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Runs `work` holding `root`'s build lock, waiting (with one message) while another process holds it. */
export async function withBuildLock<T>(root: string, work: () => Promise<T> | T, log: (line: string) => void = console.error): Promise<T> {
  const lockFile = path.join(root, BUILD_LOCK);
  let announced = false;
  for (;;) {
    try {
      writeFileSync(lockFile, String(process.pid), { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = holderOf(lockFile);
    if (holder?.stale) {
      // Its process is gone: take it over, unless someone else just did (the content changed). Two
      // waiters that find the same stale lock at the same instant can still both proceed; the cost
      // of that narrow race is two builds at once, which is what happened before this lock.
      if (holderOf(lockFile)?.pid === holder.pid) rmSync(lockFile, { force: true });
      continue;
    }
    if (holder && !announced) {
      log(`Waiting for the build running in this folder${holder.pid ? ` (process ${holder.pid})` : ""} to finish...`);
      announced = true;
    }
    await sleep(POLL_MS);
  }
  try {
    return await work();
  } finally {
    rmSync(lockFile, { force: true });
  }
}
