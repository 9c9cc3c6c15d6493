import { EventEmitter } from "node:events";

/**
 * In-process wake-ups: the engine announces "job X has new events" so streams in this process read
 * at once instead of waiting for their next poll. Events written by other processes are announced
 * here too, by LISTEN/NOTIFY or a shared tail of job_events (lib/jobs/wakeups.ts). Lives on globalThis
 * because Next.js bundles route handlers and instrumentation separately.
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

/** Wakes every job someone watches here: after a gap in cross-process wake-ups (lib/jobs/wakeups.ts). */
export function notifyWatchedJobs(): void {
  const events = emitter();
  for (const jobId of events.eventNames()) events.emit(jobId);
}

export interface JobEventsWatch {
  /**
   * Resolves on the next notification, after `timeoutMs`, or when `signal` aborts; at once if a
   * notification arrived since the previous wait returned (none is lost between a read and a wait).
   */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** performance.now() of the latest notification (or of the watch's start): a read started after it is fresh. */
  readonly lastNotifiedAt: number;
  close(): void;
}

/** Watches a job's notifications for as long as a reader follows it. */
export function watchJobEvents(jobId: string): JobEventsWatch {
  let pending = false;
  let lastNotifiedAt = performance.now();
  let wake: (() => void) | undefined;
  const onEvent = () => {
    pending = true;
    lastNotifiedAt = performance.now();
    wake?.();
  };
  emitter().on(jobId, onEvent);
  return {
    get lastNotifiedAt() {
      return lastNotifiedAt;
    },
    wait(timeoutMs, signal) {
      if (pending || signal?.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          wake = undefined;
          pending = false;
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        wake = done;
        signal?.addEventListener("abort", done, { once: true });
      });
    },
    close() {
      emitter().off(jobId, onEvent);
      wake?.();
    },
  };
}

/** Resolves on the next notification for the job, after `timeoutMs`, or when `signal` aborts. */
export function waitForJobEvents(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const watch = watchJobEvents(jobId);
  return watch.wait(timeoutMs, signal).finally(() => watch.close());
}
