import "server-only";
/**
 * Hands predictions from the webhook route to the runs waiting for them, within one process.
 *
 * `deliver` is called by `/api/webhooks/replicate` after `verifyReplicateWebhook` succeeds; `wait` is
 * what `ReplicateModels` gets as `waitForWebhook`. A completed prediction is kept for `retainMs` so a
 * webhook that beats the run to `wait` (fast models) is not lost. When the webhook lands in another
 * process, `wait` simply times out and the run falls back to one GET: correctness never depends on it.
 */
import type { Prediction } from "replicate";

const TERMINAL_STATUSES = new Set(["succeeded", "failed", "canceled", "aborted"]);

export interface PredictionWaiters {
  wait(predictionId: string, signal: AbortSignal, timeoutMs: number): Promise<Prediction | undefined>;
  /** Returns whether a run in this process was waiting for it. Non-terminal predictions are ignored. */
  deliver(prediction: Prediction): boolean;
}

export function createPredictionWaiters(options: { retainMs?: number } = {}): PredictionWaiters {
  const retainMs = options.retainMs ?? 10 * 60_000;
  const waiting = new Map<string, Set<(prediction: Prediction) => void>>();
  const recent = new Map<string, { prediction: Prediction; expiresAt: number }>();

  function prune(now: number): void {
    for (const [id, entry] of recent) if (entry.expiresAt <= now) recent.delete(id);
  }

  return {
    wait(predictionId, signal, timeoutMs) {
      const now = Date.now();
      prune(now);
      const known = recent.get(predictionId);
      if (known) return Promise.resolve(known.prediction);
      if (signal.aborted) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const listeners = waiting.get(predictionId) ?? new Set();
        waiting.set(predictionId, listeners);
        const finish = (prediction: Prediction | undefined) => {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
          listeners.delete(onDelivery);
          if (listeners.size === 0) waiting.delete(predictionId);
          resolve(prediction);
        };
        const onDelivery = (prediction: Prediction) => finish(prediction);
        const onAbort = () => finish(undefined);
        const timer = setTimeout(() => finish(undefined), timeoutMs);
        listeners.add(onDelivery);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },

    deliver(prediction) {
      if (!TERMINAL_STATUSES.has(prediction.status)) return false;
      const now = Date.now();
      prune(now);
      recent.set(prediction.id, { prediction, expiresAt: now + retainMs });
      const listeners = waiting.get(prediction.id);
      if (!listeners) return false;
      for (const listener of [...listeners]) listener(prediction);
      return true;
    },
  };
}
