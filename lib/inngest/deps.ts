import "server-only";
/**
 * What Montage's Inngest functions need from the rest of the app, handed over by the composition
 * root (lib/server/runtime.ts); tests hand them their own.
 */
import type { Config } from "@/lib/config";
import type { EngineDeps } from "@/lib/engine/types";
import type { InngestStepScope } from "@/lib/inngest/step-runner";
import type { HealthStatus } from "@/lib/providers/types";
import type { Workflow } from "@/lib/workflows/definition";

export interface InngestSettings {
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
  recheckSeconds: number;
  /** How often a running step checks the database for a cancel. */
  cancelPollMs: number;
}

export interface InngestDeps {
  engine: EngineDeps;
  scope: InngestStepScope;
  checkHealth(provider: string): Promise<HealthStatus>;
  settings: InngestSettings;
  /** One pass of the webhook dispatcher over due messages: the retry sweep runs it, so deliveries go on where no server process stays up. */
  dispatchWebhooks?: () => Promise<void>;
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
    modelSteps = Math.max(modelSteps, workflow.config.steps.filter((step) => step.model !== undefined || step.models !== undefined).length);
  }
  return Math.max(1, Math.floor(REPLICATE_CREATES_PER_MINUTE / modelSteps));
}

export function inngestSettings(cfg: Config, workflows: Iterable<Workflow>): InngestSettings {
  return {
    userConcurrency: cfg.WORKFLOW_USER_CONCURRENCY ?? cfg.INNGEST_USER_CONCURRENCY,
    concurrency: cfg.WORKFLOW_CONCURRENCY,
    runStartsPerMinute: runStartsPerMinute(workflows),
    sweepBatch: cfg.WORKFLOW_SWEEP_BATCH,
    retryCron: cfg.WORKFLOW_RETRY_CRON,
    recheckSeconds: cfg.providerRecheckSeconds,
    cancelPollMs: Math.max(200, (cfg.WORKFLOW_LEASE_SECONDS * 1000) / 3),
  };
}
