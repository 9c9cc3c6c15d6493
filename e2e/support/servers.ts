/**
 * The e2e servers (see playwright.config.ts): one per fault setup, since the fault switch is per
 * process. E2E_PORT_BASE moves all of them (default 3210), so two checkouts on one machine can run
 * their browser tests at the same time.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const base = Number(process.env.E2E_PORT_BASE ?? 3210);
export const SERVERS = { main: base, faults: base + 1, gated: base + 2, recovery: base + 3, queue: base + 4 } as const;

export const serverUrl = (port: number) => `http://localhost:${port}`;

/** Each server's DATA_DIR: its database, media and gate files. */
export const serverDataDir = (port: number) => path.join(os.tmpdir(), "montage-e2e", String(port));

/** The server's output, kept beside its database (see playwright.config.ts). */
export const serverLogFile = (port: number) => path.join(os.tmpdir(), "montage-e2e", `${port}.log`);

type GateTarget = "image_edit" | "video" | "storage";

/**
 * Opens the `gate` fault of one job's calls to `target` on a server (README, "Watch the retry path
 * offline"): the file `$DATA_DIR/gates/<target>.<job id>` lets that job's held calls go on, and
 * no other test's: the tests that share the gated server run side by side.
 */
export function openGate(port: number, target: GateTarget, jobId: string): void {
  const dir = path.join(serverDataDir(port), "gates");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${target}.${jobId}`), "");
}
