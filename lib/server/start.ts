import "server-only";
import { installHttpGuard } from "@/lib/server/http-guard";
import { runtime } from "@/lib/server/runtime";
import { sweepOrphanedTempFiles } from "@/lib/temp-files";

/** Process start-up: builds the runtime, starts its driver, and stops it cleanly on SIGTERM or SIGINT. */
export async function startServer(): Promise<void> {
  installHttpGuard();
  const rt = runtime();
  const swept = await sweepOrphanedTempFiles();
  if (swept.length > 0) rt.logger.info("removed temporary files of dead processes", { count: swept.length });
  // Next.js keeps the process alive after these and logs only the error itself: named here, so a
  // log reader (and the test servers' guard, tests/helpers/server.ts) can tell them from other errors.
  process.on("uncaughtException", (err) => rt.logger.error("uncaughtException", { err }));
  process.on("unhandledRejection", (err) => rt.logger.error("unhandledRejection", { err }));
  await rt.start();
  const shutdown = (signal: string) => {
    rt.logger.info("shutting down", { signal });
    void rt.stop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}
