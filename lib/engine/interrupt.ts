import "server-only";
/**
 * Why a step was stopped without recording anything: the step resumes later from its checkpoint.
 * - shutdown: the process is stopping; the lease is released and another runner resumes the step.
 * - lease_lost: another runner took the execution over (this one was paused past its lease).
 * - suspended: under Inngest, the step ends so the run can wait for a prediction's webhook.
 * - paused: under Inngest, a short rate limit; Inngest retries the step after the provider's wait.
 */
export type InterruptReason = "shutdown" | "lease_lost" | "suspended" | "paused";

const INTERRUPT = Symbol.for("montage.step-interrupt");

/** The abort reason of a step that must stop without recording anything. Recognised by a brand, across bundles. */
export class InterruptedError extends Error {
  override readonly name = "InterruptedError";
  readonly [INTERRUPT] = true;
  constructor(readonly reason: InterruptReason) {
    super(`Step interrupted (${reason})`);
  }
}

export function interruptReason(error: unknown): InterruptReason | undefined {
  if (typeof error !== "object" || error === null || (error as { [INTERRUPT]?: unknown })[INTERRUPT] !== true) return undefined;
  return (error as InterruptedError).reason;
}
