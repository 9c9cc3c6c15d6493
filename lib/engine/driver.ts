import { config } from "@/lib/config";
import { db } from "@/lib/db/client";
import { InProcessRunner } from "@/lib/engine/in-process-runner";
import { createInngestDriver } from "@/lib/engine/inngest-driver";
import { inngestClient, inngestMode } from "@/lib/inngest/client";
import { log } from "@/lib/log";
import { checkProviderHealth, providers } from "@/lib/providers";

/**
 * How executions get run. The HTTP API and the sweep only ever call this interface; which driver
 * runs behind it is decided here, once.
 */
export interface WorkflowDriver {
  readonly name: "in-process" | "inngest";
  start(): Promise<void>;
  /** Starts (or resumes) a queued job. */
  enqueue(jobId: string): Promise<void>;
  /** Interrupts a job's running step after the job was marked canceled. */
  interrupt(jobId: string): Promise<void>;
  stop(): Promise<void>;
}

function createInProcessDriver(): WorkflowDriver {
  const cfg = config();
  const all = providers();
  const runner = new InProcessRunner({
    database: db(),
    providers: all,
    checkHealth: (name) => checkProviderHealth(all, name),
    concurrency: cfg.WORKFLOW_CONCURRENCY,
    leaseMs: cfg.WORKFLOW_LEASE_SECONDS * 1000,
    sweepIntervalMs: cfg.WORKFLOW_RETRY_INTERVAL_SECONDS * 1000,
    sweepBatch: cfg.WORKFLOW_SWEEP_BATCH,
    retryBaseSeconds: cfg.WORKFLOW_RETRY_INTERVAL_SECONDS,
    maxRetries: cfg.WORKFLOW_MAX_ATTEMPTS,
    logger: log,
  });
  return {
    name: "in-process",
    start: () => runner.start(),
    enqueue: async (jobId) => runner.enqueue(jobId),
    interrupt: async (jobId) => runner.cancel(jobId),
    stop: () => runner.stop(),
  };
}

const globalForDriver = globalThis as unknown as { montageDriver?: WorkflowDriver; montageDriverStarted?: Promise<void> };

/**
 * The one place that picks the driver: Inngest when INNGEST_DEV is set or an Inngest event or
 * signing key is (docs/inngest.md), otherwise the in-process runner.
 */
function createDriver(): WorkflowDriver {
  if (!inngestMode(config())) return createInProcessDriver();
  return createInngestDriver({ database: db(), send: (event) => inngestClient().send(event), logger: log });
}

export function workflowDriver(): WorkflowDriver {
  globalForDriver.montageDriver ??= createDriver();
  return globalForDriver.montageDriver;
}

/** Starts the driver once per process (from instrumentation at server start, or lazily on first use). */
export function startWorkflowDriver(): Promise<void> {
  globalForDriver.montageDriverStarted ??= workflowDriver().start();
  return globalForDriver.montageDriverStarted;
}
