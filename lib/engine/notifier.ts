import { EventEmitter } from "node:events";

/**
 * In-process wake-ups: the engine announces "job X has new events" so streams in this process read
 * at once instead of waiting for their next poll. Streams still poll (slowly) so that events
 * written by other processes arrive too. Lives on globalThis because Next.js bundles route
 * handlers and instrumentation separately.
 */
const globalForNotifier = globalThis as unknown as { montageJobNotifier?: EventEmitter };

function emitter(): EventEmitter {
  if (!globalForNotifier.montageJobNotifier) {
    globalForNotifier.montageJobNotifier = new EventEmitter();
    globalForNotifier.montageJobNotifier.setMaxListeners(0);
  }
  return globalForNotifier.montageJobNotifier;
}

export function notifyJobEvents(jobId: string): void {
  emitter().emit(jobId);
}

/** Resolves on the next notification for the job, after `timeoutMs`, or when `signal` aborts. */
export function waitForJobEvents(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      emitter().off(jobId, done);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, timeoutMs);
    emitter().on(jobId, done);
    signal?.addEventListener("abort", done, { once: true });
  });
}
