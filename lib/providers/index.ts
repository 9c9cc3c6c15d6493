import "server-only";
import path from "node:path";
import type { Prediction } from "replicate";
import type { Config } from "@/lib/config";
import type { Checkpoints } from "@/lib/contract/events";
import { isCanceledError, isDeadlineError } from "@/lib/workflows/errors";
import type { Logger } from "@/lib/log";
import { CloudinaryStorage, parseCloudinaryUrl } from "@/lib/providers/cloudinary/storage";
import { fetchOutput, type FetchOutputOptions } from "@/lib/providers/fetch-output";
import { HealthGate } from "@/lib/providers/health-gate";
import { FaultSwitch, parseFaultSpec } from "@/lib/providers/local/faults";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import { inlineMediaUrls } from "@/lib/providers/replicate/inline-media";
import { ReplicateModels } from "@/lib/providers/replicate/models";
import { createPredictionWaiters, type PredictionWaiters } from "@/lib/providers/replicate/prediction-waiters";
import type { HealthStatus, Providers } from "@/lib/providers/types";

/**
 * The one place that picks providers from the config (docs/production.md). Workflow code only sees
 * the interfaces; every provider sits behind its circuit in the health gate.
 *
 * - Storage: Cloudinary when CLOUDINARY_URL is set, else local disk.
 * - Models: Replicate when REPLICATE_API_TOKEN is set, else the local models. Either may be set
 *   without the other. With local storage, media URLs in Replicate inputs are sent as data URIs
 *   (Replicate cannot fetch Montage's /files/ URLs; see replicate/inline-media).
 */
export interface ProviderRuntime extends Providers {
  gate: HealthGate;
  /** Set when Replicate runs the models: the webhook route and job cancels need these. */
  replicate: ReplicateRuntime | undefined;
}

export interface ReplicateRuntime {
  /** Unguarded: webhook-secret fetches and cancels are housekeeping, not steps, and bypass the circuit. */
  models: ReplicateModels;
  /** Hands verified webhook deliveries to the runs waiting in this process. */
  waiters: PredictionWaiters;
}

const REPLICATE_WEBHOOK_PATH = "/api/webhooks/replicate";

/** How a run waits for a prediction's webhook, given the in-process waiter (the Inngest driver suspends the run instead). */
export type WebhookWait = (predictionId: string, signal: AbortSignal, timeoutMs: number) => Promise<Prediction | undefined>;

export interface ProviderOptions {
  /** Wraps the in-process webhook wait; the composition root passes Inngest's (lib/inngest/prediction-wait.ts). */
  wrapWebhookWait?: (inProcess: WebhookWait) => WebhookWait;
}

export function createProviders(cfg: Config, logger: Logger, options: ProviderOptions = {}): ProviderRuntime {
  const downloads = outputDownloadRules(cfg, logger);
  const faults = new FaultSwitch(parseFaultSpec(cfg.LOCAL_PROVIDER_FAULTS), { gateDir: path.join(cfg.dataDir, "gates") });
  const gate = new HealthGate({
    waveSize: cfg.PROVIDER_RECOVERY_WAVE_SIZE,
    waveIntervalMs: cfg.recoveryWaveSeconds * 1000,
    logger: logger.child({ component: "health-gate" }),
  });

  const storage = gate.guardStorage(
    cfg.CLOUDINARY_URL
      ? createCloudinaryStorage(cfg.CLOUDINARY_URL, downloads)
      : new LocalStorage({ rootDir: path.join(cfg.dataDir, "media"), publicBaseUrl: cfg.publicBaseUrl, faults }),
  );

  let replicate: ReplicateRuntime | undefined;
  if (cfg.REPLICATE_API_TOKEN) {
    requireSecureEndpoint("REPLICATE_BASE_URL", cfg.REPLICATE_BASE_URL);
    const waiters = createPredictionWaiters();
    const webhookUrl = replicateWebhookUrl(cfg);
    const models = new ReplicateModels({
      apiToken: cfg.REPLICATE_API_TOKEN,
      baseUrl: cfg.REPLICATE_BASE_URL,
      // Under Inngest, long waits suspend the run (step.waitForEvent) instead of holding a step open.
      ...(webhookUrl && { webhookUrl, waitForWebhook: options.wrapWebhookWait ? options.wrapWebhookWait(waiters.wait) : waiters.wait }),
      pollIntervalMs: cfg.REPLICATE_POLL_INTERVAL_MS,
      fetchOutput: (url, signal) => fetchOutput(url, { ...downloads, signal, provider: "replicate" }),
      // A user's cancel and a passed timeout or deadline cancel the prediction; a shutdown or a lost
      // lease leaves it running so that the resumed step re-attaches instead of paying for a new one.
      cancelOnAbort: (reason) => isCanceledError(reason) || isDeadlineError(reason),
      ...(storage instanceof LocalStorage && {
        prepareInput: (input, signal) =>
          inlineMediaUrls(input, { owns: (url) => ownsUrl(storage, url), read: (url, s) => storage.read(url, s) }, signal),
      }),
    });
    replicate = { models, waiters };
    logger.info("models run on Replicate", {
      base_url: cfg.REPLICATE_BASE_URL,
      completion: webhookUrl ? "webhook, polling as fallback" : "polling",
    });
  }
  const models = gate.guardModels(
    replicate?.models ?? new LocalModels({ readMedia: (url, signal) => storage.read(url, signal), faults }),
  );
  return { storage, models, gate, replicate };
}

/**
 * Health by provider name, for the retry sweep: through the provider's circuit (which probes it and
 * paces the release of parked jobs). An unknown name (e.g. a provider since switched off) is healthy.
 */
export function checkProviderHealth(all: Providers, name: string): Promise<HealthStatus> {
  const provider = [all.storage, all.models].find((p) => p.name === name);
  return provider ? provider.checkHealth() : Promise.resolve({ healthy: true });
}

/**
 * Cancels the Replicate predictions that a canceled job's unfinished steps saved: a parked or queued
 * job's prediction would otherwise keep running, and billing. (A step running in some process is
 * interrupted by the driver and cancels its own prediction; cancelling twice is harmless.)
 * Best effort and bounded in time: it never throws.
 */
export async function cancelSavedPredictions(runtime: ProviderRuntime, logger: Logger, jobId: string, checkpoints: Checkpoints): Promise<void> {
  const replicate = runtime.replicate;
  if (!replicate) return;
  const ids = Object.values(checkpoints)
    .filter((checkpoint) => checkpoint.status !== "completed")
    .map((checkpoint) => checkpoint.state?.predictionId)
    .filter((id): id is string => typeof id === "string" && id !== "");
  await Promise.all(
    ids.map((predictionId) =>
      replicate.models.cancelPrediction(predictionId, { timeoutMs: 5000 }).catch((error: unknown) => {
        logger.warn("could not cancel the job's Replicate prediction", { job_id: jobId, prediction_id: predictionId, err: error });
      }),
    ),
  );
}

/** `${APP_URL}/api/webhooks/replicate` when webhooks are on (REPLICATE_WEBHOOKS; auto = https APP_URL only). */
function replicateWebhookUrl(cfg: Config): string | undefined {
  if (cfg.REPLICATE_WEBHOOKS === "off" || !cfg.APP_URL) return undefined;
  const base = cfg.APP_URL.replace(/\/+$/, "");
  if (cfg.REPLICATE_WEBHOOKS === "auto" && !base.startsWith("https:")) return undefined;
  return `${base}${REPLICATE_WEBHOOK_PATH}`;
}

type DownloadRules = Pick<FetchOutputOptions, "allowedHosts" | "requireHttps" | "allowPrivateAddresses">;

/**
 * Provider outputs and Cloudinary media are downloaded from OUTPUT_FETCH_ALLOWED_HOSTS only, over
 * HTTPS, never from a private address. OUTPUT_FETCH_ALLOW_INSECURE lifts the last two for tests
 * against local fakes (http on 127.0.0.1); the allowlist still applies.
 */
function outputDownloadRules(cfg: Config, logger: Logger): DownloadRules {
  const allowedHosts = cfg.OUTPUT_FETCH_ALLOWED_HOSTS.split(",")
    .map((host) => host.trim())
    .filter(Boolean);
  const insecure = cfg.OUTPUT_FETCH_ALLOW_INSECURE;
  if (insecure && (cfg.CLOUDINARY_URL || cfg.REPLICATE_API_TOKEN)) {
    const level = cfg.NODE_ENV === "production" ? "error" : "warn";
    logger[level]("OUTPUT_FETCH_ALLOW_INSECURE is set: outputs may be downloaded over plain http and from private addresses. It is meant for tests against local fakes only", {
      node_env: cfg.NODE_ENV,
    });
  }
  return { allowedHosts, requireHttps: !insecure, allowPrivateAddresses: insecure };
}

function createCloudinaryStorage(cloudinaryUrl: string, downloads: DownloadRules): CloudinaryStorage {
  const uploadPrefix = parseCloudinaryUrl(cloudinaryUrl).uploadPrefix;
  if (uploadPrefix) requireSecureEndpoint("CLOUDINARY_URL's upload_prefix", uploadPrefix);
  return new CloudinaryStorage({
    cloudinaryUrl,
    deliveryHosts: [...(downloads.allowedHosts ?? [])],
    readOptions: { requireHttps: downloads.requireHttps, allowPrivateAddresses: downloads.allowPrivateAddresses },
  });
}

const LOOPBACK_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * API keys travel in these requests: plain http is only accepted to this machine (a local fake or
 * proxy), never across a network.
 */
function requireSecureEndpoint(variable: string, value: string): void {
  const url = new URL(value);
  if (url.protocol === "https:") return;
  if (url.protocol === "http:" && LOOPBACK_HOSTS.has(url.hostname)) return;
  throw new Error(`${variable} must be an https URL (plain http is accepted for localhost only): got ${url.protocol}//${url.host}`);
}

function ownsUrl(storage: LocalStorage, url: string): boolean {
  try {
    storage.keyFromUrl(url);
    return true;
  } catch {
    return false;
  }
}
