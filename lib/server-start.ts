import { config } from "@/lib/config";
import { startWorkflowDriver, workflowDriver } from "@/lib/engine/driver";
import { log } from "@/lib/log";
import { workflowRegistry } from "@/lib/workflows/registry";

/** Process start-up: validate config, report workflows, start the driver, stop it cleanly on SIGTERM. */
export async function startServer(): Promise<void> {
  const cfg = config();
  const registry = workflowRegistry();
  log.info("montage starting", {
    database: cfg.database.provider,
    data_dir: cfg.dataDir,
    workflows: [...registry.workflows.keys()],
    driver: workflowDriver().name,
  });
  await startWorkflowDriver();
  const shutdown = (signal: string) => {
    log.info("shutting down", { signal });
    void workflowDriver()
      .stop()
      .finally(() => process.exit(0));
  };
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  process.once("SIGINT", () => shutdown("SIGINT"));
}
