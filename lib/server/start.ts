import "server-only";
import { runtime } from "@/lib/server/runtime";

/** Process start-up: builds the runtime, starts its driver, and stops it cleanly on SIGTERM or SIGINT. */
export async function startServer(): Promise<void> {
  const rt = runtime();
  await rt.start();
  const shutdown = (signal: string) => {
    rt.logger.info("shutting down", { signal });
    void rt.stop().finally(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}
