/**
 * How generators write their files: only when the content changes, and atomically. An unchanged
 * file keeps its mtime, so watchers (next dev, tsc --incremental) and anything comparing mtimes see
 * nothing; a changed one is written to a temp file and renamed over the old, so a reader never
 * sees half a file.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

/** Writes `content` to `file` unless it already holds exactly that; says whether it wrote. */
export function writeFileIfChanged(file: string, content: string): boolean {
  if (existsSync(file) && readFileSync(file, "utf8") === content) return false;
  mkdirSync(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, content);
    renameSync(temp, file);
  } finally {
    rmSync(temp, { force: true });
  }
  return true;
}

/** True when this module is the script node was started with (`tsx scripts/x.ts`), not an import. */
export function isMainModule(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && pathToFileURL(path.resolve(entry)).href === importMetaUrl;
}
