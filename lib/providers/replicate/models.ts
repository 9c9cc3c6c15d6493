import "server-only";
/**
 * Replicate models through the official SDK.
 *
 * A run is built to survive crashes without paying twice: the prediction id is saved in the step's
 * state the moment Replicate answers the create, and a re-run re-attaches to that prediction instead of
 * creating another (the API has no idempotency key). Outputs are downloaded as soon as the prediction
 * succeeds, because Replicate deletes them after an hour.
 */
import Replicate from "replicate";
import type { Prediction } from "replicate";

import { CanceledError, HardError, RetryableError, isRetryableError } from "@/lib/workflows/errors";
import { abortReason } from "@/lib/providers/fetch-output";
import type { HealthStatus, ModelOutput, ModelProvider, ModelRunRequest } from "@/lib/providers/types";
import { apiErrorStatus, mapReplicateError, predictionFailedError, PROVIDER, withoutRetriedWrites } from "./errors";
import { decodeDataUri, firstOutputUrl, isReusable, isSameModel, progressOf, refineContentType, TERMINAL_STATUSES, usageOf } from "./prediction";

export type { Prediction } from "replicate";

const DEFAULT_BASE_URL = "https://api.replicate.com/v1";

export interface ReplicateModelsOptions {
  apiToken: string;
  /** Default https://api.replicate.com/v1; tests point it at the fake. */
  baseUrl?: string;
  /** `${APP_URL}/api/webhooks/replicate`; when set, predictions are created with a `completed` webhook. */
  webhookUrl?: string;
  /** Polling interval when no webhook waiter is configured (default 2000 ms). */
  pollIntervalMs?: number;
  /**
   * With a webhook waiter: how long to wait for the webhook before checking the prediction with one GET
   * (default 30 s). Covers lost or late webhooks and webhooks delivered to another process.
   */
  webhookFallbackMs?: number;
  /** Give up waiting (RetryableError "timeout", prediction left running for re-attach) after this (default 30 min). */
  maxWaitMs?: number;
  /** Per HTTP call to the API (default 30 s). */
  requestTimeoutMs?: number;
  /** Downloads an output file at once (outputs expire after 1 h); see `fetchOutput` in ../fetch-output. */
  fetchOutput: (url: string, signal: AbortSignal) => Promise<ModelOutput>;
  /**
   * Resolves with the prediction a verified webhook delivered for `predictionId`, or undefined after
   * `timeoutMs`. Supplied by whoever receives `/api/webhooks/replicate` (see ./prediction-waiters).
   */
  waitForWebhook?: (predictionId: string, signal: AbortSignal, timeoutMs: number) => Promise<Prediction | undefined>;
  /**
   * Whether an aborted run cancels its prediction (default: always). Return false for aborts that mean
   * "this process is stopping" so the resumed step re-attaches instead of paying for a new prediction.
   */
  cancelOnAbort?: (reason: unknown) => boolean;
  /** Overrides the SDK's fetch (tests, proxies). */
  fetch?: (input: Request | string, init?: RequestInit) => Promise<Response>;
  /**
   * Rewrites the input just before a prediction is created (never on re-attach). Montage uses it to
   * send media Replicate cannot fetch (local storage) as data URIs; see ./inline-media.
   */
  prepareInput?: (input: Record<string, unknown>, signal: AbortSignal) => Promise<Record<string, unknown>>;
}

export class ReplicateModels implements ModelProvider {
  readonly name = PROVIDER;
  /** The SDK client, for `fetchWebhookSecret(models.client)`. */
  readonly client: Replicate;
  /** Where predictions send their `completed` webhook; undefined when the run polls. */
  readonly webhookUrl: string | undefined;
  private readonly pollIntervalMs: number;
  private readonly webhookFallbackMs: number;
  private readonly maxWaitMs: number;
  private readonly requestTimeoutMs: number;
  private readonly fetchOutputFile: ReplicateModelsOptions["fetchOutput"];
  private readonly waitForWebhook: ReplicateModelsOptions["waitForWebhook"];
  private readonly cancelOnAbort: (reason: unknown) => boolean;
  private readonly prepareInput: ReplicateModelsOptions["prepareInput"];

  constructor(options: ReplicateModelsOptions) {
    if (!options.apiToken) throw new Error("ReplicateModels needs an API token");
    this.client = new Replicate({
      auth: options.apiToken,
      baseUrl: options.baseUrl ?? DEFAULT_BASE_URL,
      userAgent: "montage",
      // Outputs are plain URLs: we download them ourselves, through the allowlisting fetcher.
      useFileOutput: false,
      fetch: withoutRetriedWrites(options.fetch ?? fetch),
    });
    this.webhookUrl = options.webhookUrl;
    this.pollIntervalMs = options.pollIntervalMs ?? 2000;
    this.webhookFallbackMs = options.webhookFallbackMs ?? 30_000;
    this.maxWaitMs = options.maxWaitMs ?? 30 * 60_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.fetchOutputFile = options.fetchOutput;
    this.waitForWebhook = options.waitForWebhook;
    this.cancelOnAbort = options.cancelOnAbort ?? (() => true);
    this.prepareInput = options.prepareInput;
  }

  async run(request: ModelRunRequest): Promise<ModelOutput> {
    throwIfAborted(request.signal);
    const started = await this.attachOrCreate(request);
    const finished = await this.waitUntilDone(started, request);
    return this.collectOutput(finished, request);
  }

  /** GET /account: proves the token works. Replicate has no cheap credit probe, so quota is not checked. */
  async checkHealth(): Promise<HealthStatus> {
    try {
      await this.call("account check", (signal) => this.client.accounts.current({ signal }));
      return { healthy: true };
    } catch (error) {
      if (isRetryableError(error)) return { healthy: false, detail: `${error.reason}: ${error.message}` };
      const message = error instanceof Error ? error.message : String(error);
      return { healthy: false, detail: message };
    }
  }

  /** Cancels a prediction (e.g. for a canceled job whose step is not running here). Already finished is fine. */
  async cancelPrediction(predictionId: string, options: { timeoutMs?: number } = {}): Promise<void> {
    await this.call("cancel", (signal) => this.client.predictions.cancel(predictionId, { signal }), options);
  }

  private async attachOrCreate(request: ModelRunRequest): Promise<Prediction> {
    const savedId = request.state.get()?.predictionId;
    if (typeof savedId === "string" && savedId) {
      const existing = await this.findPrediction(savedId);
      if (existing && isReusable(existing) && isSameModel(existing, request.model)) {
        await request.onProgress(5, `Re-attached to Replicate prediction ${existing.id}`);
        return existing;
      }
    }

    const [owner, rest] = splitModel(request.model);
    const [name, version] = rest.split(":") as [string, string | undefined];
    const webhook = this.webhookUrl
      ? { webhook: this.webhookUrl, webhook_events_filter: ["completed" as const] }
      : {};
    const input = this.prepareInput ? await this.prepareInput(request.input, request.signal) : request.input;
    throwIfAborted(request.signal);
    // With a deadline, Replicate is told too (Cancel-After), a little later than the step's own clock,
    // which cancels first: the header is the safety net for a process that dies before it can.
    const headers: Record<string, string> = request.deadlineAt ? { "Cancel-After": cancelAfter(request.deadlineAt) } : {};
    // Not the caller's signal: aborting mid-create could leave a prediction we never learn the id of.
    // Through the SDK's request(): its predictions.create() cannot send headers other than Prefer.
    const created = await this.call("create prediction", async (signal) => {
      const route = version ? "/predictions" : `/models/${owner}/${name}/predictions`;
      const data = { ...(version && { version }), input, ...webhook };
      const response = await this.client.request(route, { method: "POST", headers, data, signal });
      return (await response.json()) as Prediction;
    });
    await request.state.save({ ...request.state.get(), predictionId: created.id });
    await request.onProgress(2, `Replicate prediction ${created.id} created`);
    return created;
  }

  /** The saved prediction, or undefined when Replicate no longer knows it (then a new one is created). */
  private async findPrediction(id: string): Promise<Prediction | undefined> {
    try {
      return await this.call("get prediction", (signal) => this.client.predictions.get(id, { signal }), {
        rawErrors: true,
      });
    } catch (error) {
      if (apiErrorStatus(error) === 404) return undefined;
      throw mapReplicateError(error, "get prediction");
    }
  }

  private async waitUntilDone(prediction: Prediction, request: ModelRunRequest): Promise<Prediction> {
    const { signal } = request;
    const deadline = Date.now() + this.maxWaitMs;
    let current = prediction;
    let lastPercent = -1;
    try {
      throwIfAborted(signal);
      while (!TERMINAL_STATUSES.has(current.status)) {
        const [percent, message] = progressOf(current);
        if (percent !== lastPercent) {
          lastPercent = percent;
          await request.onProgress(percent, message);
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new RetryableError(
            "timeout",
            `Replicate prediction ${current.id} still ${current.status} after ${Math.round(this.maxWaitMs / 1000)}s`,
            { provider: PROVIDER },
          );
        }
        if (this.waitForWebhook && this.webhookUrl) {
          const delivered = await this.waitForWebhook(current.id, signal, Math.min(this.webhookFallbackMs, remaining));
          throwIfAborted(signal);
          if (delivered && delivered.id === current.id && TERMINAL_STATUSES.has(delivered.status)) return delivered;
        } else {
          await sleep(Math.min(this.pollIntervalMs, remaining), signal);
        }
        const id = current.id;
        current = await this.call("get prediction", (s) => this.client.predictions.get(id, { signal: s }), { signal });
      }
      return current;
    } catch (error) {
      if (signal.aborted) {
        if (this.cancelOnAbort(signal.reason)) await this.cancelQuietly(current.id);
        throw abortReason(signal);
      }
      throw error;
    }
  }

  private async collectOutput(prediction: Prediction, request: ModelRunRequest): Promise<ModelOutput> {
    switch (prediction.status) {
      case "succeeded": {
        const url = firstOutputUrl(prediction.output);
        if (!url) {
          throw new HardError(
            "prediction_output_missing",
            `Replicate prediction ${prediction.id} succeeded without a file output`,
            { provider: PROVIDER },
          );
        }
        await request.onProgress(90, "Downloading the output");
        const output = url.startsWith("data:") ? decodeDataUri(url) : await this.fetchOutputFile(url, request.signal);
        await request.onProgress(100);
        const contentType = refineContentType(output.contentType, url);
        return { body: output.body, contentType, usage: usageOf(prediction, output.body, contentType) };
      }
      case "failed":
        throw predictionFailedError(prediction);
      case "canceled":
        throw new CanceledError(`Replicate prediction ${prediction.id} was canceled`);
      case "aborted":
        // Stopped before it started (its deadline passed while queued): nothing was wrong with the
        // input and it never ran, so a later attempt with a fresh prediction is expected to work.
        throw new RetryableError("timeout", `Replicate aborted prediction ${prediction.id} before it started`, {
          provider: PROVIDER,
        });
      default:
        throw new HardError("prediction_failed", `Unexpected prediction status ${prediction.status}`, {
          provider: PROVIDER,
        });
    }
  }

  private async cancelQuietly(predictionId: string): Promise<void> {
    try {
      await this.cancelPrediction(predictionId);
    } catch {
      // Best effort: the caller is already unwinding an abort; the prediction will finish or time out.
    }
  }

  /**
   * One API call with its own timeout (and the caller's signal, when given), errors mapped. The SDK
   * itself retries GETs on 429/5xx and POSTs on 429 (up to 5 times, back to back).
   */
  private async call<T>(
    action: string,
    fn: (signal: AbortSignal) => Promise<T>,
    options: { signal?: AbortSignal; rawErrors?: boolean; timeoutMs?: number } = {},
  ): Promise<T> {
    const timeout = AbortSignal.timeout(options.timeoutMs ?? this.requestTimeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      return await fn(signal);
    } catch (error) {
      if (options.signal?.aborted) throw abortReason(options.signal);
      if (options.rawErrors) throw error;
      throw mapReplicateError(error, action);
    }
  }
}


/** Replicate's minimum Cancel-After; shorter deadlines are stopped by the step's own clock anyway. */
const MIN_CANCEL_AFTER_SECONDS = 5;
/** Cancel-After comes this much after the step's clock, so that the clock's explicit cancel is what ends the prediction. */
const CANCEL_AFTER_MARGIN_SECONDS = 2;

/** The Cancel-After header for a prediction that must have ended by `deadlineAt`: whole seconds, e.g. "95s". */
export function cancelAfter(deadlineAt: Date, now: number = Date.now()): string {
  const seconds = Math.ceil((deadlineAt.getTime() - now) / 1000) + CANCEL_AFTER_MARGIN_SECONDS;
  return `${Math.max(MIN_CANCEL_AFTER_SECONDS, seconds)}s`;
}

function splitModel(model: string): [string, string] {
  const slash = model.indexOf("/");
  if (slash <= 0 || slash === model.length - 1) {
    throw new HardError("invalid_input", `Model "${model}" is not "owner/name" or "owner/name:version"`, {
      provider: PROVIDER,
    });
  }
  return [model.slice(0, slash), model.slice(slash + 1)];
}


function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortReason(signal);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortReason(signal));
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal));
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
