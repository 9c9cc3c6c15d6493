import "server-only";
import { EventEmitter } from "node:events";

/**
 * In-process wake-ups: the engine announces "job X has new events" after each commit, so streams
 * in this process read at once instead of waiting for their next poll. Events written by other
 * processes are announced here too, by LISTEN/NOTIFY or a shared tail of job_events
 * (lib/jobs/wakeups.ts). One per runtime (lib/server/runtime.ts).
 */
export class JobNotifier {
  private readonly emitter = new EventEmitter();
  private readonly anyListeners = new Set<() => void>();

  constructor() {
    this.emitter.setMaxListeners(0);
  }

  notify(jobId: string): void {
    this.emitter.emit(jobId);
    for (const listener of this.anyListeners) listener();
  }

  /** Called on every job's notification (the webhook dispatcher: new events may have new messages); returns the unsubscribe. */
  onAny(listener: () => void): () => void {
    this.anyListeners.add(listener);
    return () => this.anyListeners.delete(listener);
  }

  /** Wakes every job someone watches here: after a gap in cross-process wake-ups. */
  notifyWatched(): void {
    for (const jobId of this.emitter.eventNames()) this.emitter.emit(jobId);
  }

  /** Calls `listener` on each notification for the job until the returned function is called. */
  subscribe(jobId: string, listener: () => void): () => void {
    this.emitter.on(jobId, listener);
    return () => void this.emitter.off(jobId, listener);
  }

  /** Watches a job's notifications for as long as a reader follows it. */
  watch(jobId: string): JobEventsWatch {
    let pending = false;
    let lastNotifiedAt = performance.now();
    let wake: (() => void) | undefined;
    const onEvent = () => {
      pending = true;
      lastNotifiedAt = performance.now();
      wake?.();
    };
    this.emitter.on(jobId, onEvent);
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
      close: () => {
        this.emitter.off(jobId, onEvent);
        wake?.();
      },
    };
  }

  /** Resolves on the next notification for the job, after `timeoutMs`, or when `signal` aborts. */
  async waitFor(jobId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
    const watch = this.watch(jobId);
    try {
      await watch.wait(timeoutMs, signal);
    } finally {
      watch.close();
    }
  }
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
