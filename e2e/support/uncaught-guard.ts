import { existsSync, readFileSync } from "node:fs";
import { SERVERS, serverLogFile } from "./servers";

/**
 * Global teardown: the run fails when any e2e server logged an uncaught exception or an unhandled
 * rejection (lib/server/start.ts names them), even if every test passed: Next.js keeps the process
 * alive after one, so answers alone would not show it.
 */
export default function uncaughtGuard(): void {
  const found: string[] = [];
  for (const port of Object.values(SERVERS)) {
    const file = serverLogFile(port);
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      if (/uncaughtException|unhandledRejection/.test(line)) found.push(`${port}: ${line}`);
    }
  }
  if (found.length > 0) throw new Error(`e2e servers logged ${found.length} uncaught exception(s):\n${found.join("\n").slice(0, 4000)}`);
}
