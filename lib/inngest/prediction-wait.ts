import "server-only";
/**
 * Waiting for long predictions under Inngest, for the Replicate provider's `waitForWebhook` option.
 *
 * `step.waitForEvent` cannot be called inside `step.run`, and the provider waits inside a step. So
 * the waiter used in a step waits inline once (fast models finish within the provider's webhook
 * fallback window, typically 30 s), and on the provider's next wait it suspends the step instead:
 * the step ends as "interrupted" with the prediction id kept in its checkpoint state, and the
 * workflow-execute run waits with
 *   step.waitForEvent("wait-prediction-<id>", { event: "montage/replicate.prediction.completed",
 *     if: "async.data.prediction_id == '<id>'", timeout })
 * for the event the webhook route sends. Event or timeout, the step then runs again; the provider
 * re-attaches to the saved prediction and reads it with one GET (the polling fallback), so a lost
 * webhook costs one timeout, never the result. Outside Inngest it is the in-process waiter.
 *
 * Wiring (lib/server/runtime.ts): under Inngest, the webhook route's forwarder sends the event
 * (`predictionCompletedEvent`) after verifying a delivery, and the providers get
 *   waitForWebhook: waitForPredictionUnderInngest(scope, waiters.wait)
 * Their `cancelOnAbort` must spare interrupts (cancel only on CanceledError, as it does), or a
 * suspended step would cancel its own prediction.
 */
import type { InngestStepScope } from "@/lib/inngest/step-runner";

export type WaitForWebhook<P> = (predictionId: string, signal: AbortSignal, timeoutMs: number) => Promise<P | undefined>;

/** Inline waits a step execution does before it suspends. */
const INLINE_WAITS = 1;

function sleep(ms: number, signal: AbortSignal): Promise<undefined> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(undefined);
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve(undefined);
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Wraps the in-process waiter (`createPredictionWaiters().wait`, or nothing: then an inline wait
 * is a plain sleep) so that, inside an Inngest step, long waits become `step.waitForEvent`.
 */
export function waitForPredictionUnderInngest<P>(scope: InngestStepScope, inProcess?: WaitForWebhook<P>): WaitForWebhook<P> {
  return async (predictionId, signal, timeoutMs) => {
    const step = scope.current();
    if (step && step.inlineWaits >= INLINE_WAITS && step.suspendUntilPredictionCompletes(predictionId)) {
      // The step's signal is aborted now: the provider stops waiting and the executor records nothing.
      return undefined;
    }
    step?.countInlineWait();
    return inProcess ? inProcess(predictionId, signal, timeoutMs) : sleep(timeoutMs, signal);
  };
}
