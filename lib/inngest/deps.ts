/**
 * What Montage's Inngest functions need from the rest of the app, gathered in one place so that
 * tests can hand them a database, providers and settings of their own.
 */
import { config, type Config } from "@/lib/config";
import { db, type Db } from "@/lib/db/client";
import { log, type Logger } from "@/lib/log";
import { checkProviderHealth, providers } from "@/lib/providers";
import type { HealthStatus, Providers } from "@/lib/providers/types";
import type { Workflow } from "@/lib/workflows/definition";
import { workflowRegistry } from "@/lib/workflows/registry";

export interface InngestSettings {
  /** Base of the retry backoff, in seconds (as in-process). */
  retryBaseSeconds: number;
  maxRetries: number;
  /** Steps of one user's jobs running at once. */
  userConcurrency: number;
  /** Steps running at once across all users: the cap on calls into the model provider. */
  concurrency: number;
  /** Run starts per minute; see `runStartsPerMinute`. */
  runStartsPerMinute: number;
  /** Jobs the retry sweep claims per batch (and per step.sendEvent). */
  sweepBatch: number;
  retryCron: string;
  /** How long the sweep waits before looking again at a job whose provider is unhealthy. */
  deferSeconds: number;
  /** How often a running step checks the database for a cancel. */
  cancelPollMs: number;
}

export interface InngestDeps {
  database(): Db;
  providers(): Providers;
  checkHealth(provider: string): Promise<HealthStatus>;
  logger: Logger;
  settings: InngestSettings;
  /** Tests bring their own workflows; otherwise the registry of workflows/. */
  findWorkflow?: (id: string) => Workflow | undefined;
}

/** Replicate accepts 600 prediction creates per minute per account. */
export const REPLICATE_CREATES_PER_MINUTE = 600;

/**
 * Inngest's throttle limits run starts, not prediction creates. A run creates at most one
 * prediction per model step, one step after another, so runs may start at most
 * 600 / (model steps of the longest workflow) per minute to stay under Replicate's limit.
 */
export function runStartsPerMinute(workflows: Iterable<Workflow>): number {
  let modelSteps = 1;
  for (const workflow of workflows) {
    modelSteps = Math.max(modelSteps, workflow.config.steps.filter((step) => step.model !== undefined).length);
  }
  return Math.max(1, Math.floor(REPLICATE_CREATES_PER_MINUTE / modelSteps));
}

export function inngestSettings(cfg: Config, workflows: Iterable<Workflow>): InngestSettings {
  return {
    retryBaseSeconds: cfg.WORKFLOW_RETRY_INTERVAL_SECONDS,
    maxRetries: cfg.WORKFLOW_MAX_ATTEMPTS,
    userConcurrency: cfg.INNGEST_USER_CONCURRENCY,
    concurrency: cfg.WORKFLOW_CONCURRENCY,
    runStartsPerMinute: runStartsPerMinute(workflows),
    sweepBatch: cfg.WORKFLOW_SWEEP_BATCH,
    retryCron: cfg.WORKFLOW_RETRY_CRON,
    deferSeconds: cfg.WORKFLOW_RETRY_INTERVAL_SECONDS,
    cancelPollMs: Math.max(200, (cfg.WORKFLOW_LEASE_SECONDS * 1000) / 3),
  };
}

/** The app's own: the process's database, providers (behind their health gate) and config. */
export function defaultInngestDeps(cfg: Config = config()): InngestDeps {
  return {
    database: () => db(),
    providers: () => providers(),
    checkHealth: (name) => checkProviderHealth(providers(), name),
    logger: log,
    settings: inngestSettings(cfg, workflowRegistry().workflows.values()),
  };
}
