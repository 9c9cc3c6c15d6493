import "server-only";
import { readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * Temporary files and folders (spilled uploads, ffmpeg's work folders) are named
 * `<prefix><pid>-<random>`: the owner's process id lets start-up remove what a dead process left
 * (kill -9 runs no cleanup) without touching the files of another server still running on this
 * machine.
 */
export const TEMP_PREFIXES = { upload: "montage-upload-", video: "montage-video-" } as const;

export function tempName(prefix: string): string {
  return `${prefix}${process.pid}-`;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Removes the temporary files and folders of dead processes; returns their names. */
export async function sweepOrphanedTempFiles(dir: string = tmpdir()): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const orphans = names.filter((name) => {
    const prefix = Object.values(TEMP_PREFIXES).find((candidate) => name.startsWith(candidate));
    if (!prefix) return false;
    const pid = Number(/^(\d+)-/.exec(name.slice(prefix.length))?.[1]);
    // Names without a pid come from versions before this one: nobody owns them any more.
    return !Number.isInteger(pid) || pid <= 0 || !isAlive(pid);
  });
  await Promise.all(orphans.map((name) => rm(path.join(dir, name), { recursive: true, force: true }).catch(() => undefined)));
  return orphans;
}
