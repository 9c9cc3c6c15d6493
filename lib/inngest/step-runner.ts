import "server-only";
/**
 * The engine's StepRunner seam on Inngest: each workflow step is one `step.run`, memoized by
 * Inngest under the step's stable id. The database checkpoints stay the source of truth (the
 * executor skips steps they mark completed before it ever asks for a `step.run`), so memoization
 * only matters within one run: it returns a step's outcome to the invocations that replay it.
 *
 * Two things a step cannot do inside `step.run` are handed to the run instead, through the
 * step's abort signal (the executor treats an InterruptedError abort as "interrupted": nothing is
 * recorded and the step later resumes from its checkpoint):
 * - waiting minutes for a prediction: the step suspends, the run waits with `step.waitForEvent`;
 * - a short rate limit: the step ends with RetryAfterError and Inngest retries it.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { RetryAfterError } from "inngest";
import { InterruptedError } from "@/lib/engine/interrupt";
import type { StepRunner } from "@/lib/engine/step-runner";
import type { RunOutcome } from "@/lib/engine/types";
import type { ModelProvider, Providers, StorageProvider } from "@/lib/providers/types";
import type { Store } from "@/lib/store/types";
import { CanceledError, isRetryableError, type RetryableError } from "@/lib/workflows/errors";

/** Rate limits that ask for at most this long are retried by Inngest inside the run; longer ones park the job. */
export const SHORT_RATE_LIMIT_SECONDS = 60;

const PREDICTION_ID = /^[A-Za-z0-9_-]{1,128}$/;

/**
 * Step ids for one invocation. A step that runs again in the same run (after a prediction wait)
 * needs a fresh id, or Inngest would hand back its memoized "interrupted" outcome: the n-th
 * repeat of an id becomes `<id>-resumed-<n>`. Counting per invocation keeps the ids the same on
 * every replay, because each replay makes the same calls in the same order.
 */
export class StepIds {
  private readonly seen = new Map<string, number>();

  next(id: string): string {
    const count = this.seen.get(id) ?? 0;
    this.seen.set(id, count + 1);
    return count === 0 ? id : `${id}-resumed-${count}`;
  }
}

/** What code running inside an Inngest step (a provider, through `currentInngestStep()`) may ask of its run. */
export interface InngestStepControl {
  readonly jobId: string;
  /** Webhook waits this step execution has already done inline. */
  readonly inlineWaits: number;
  countInlineWait(): void;
  /**
   * Ends this step execution so the run can wait for the prediction with `step.waitForEvent`.
   * False when that is not allowed (the run already waited too often): the caller waits inline.
   */
  suspendUntilPredictionCompletes(predictionId: string): boolean;
}

export class StepExecution implements InngestStepControl {
  inlineWaits = 0;
  suspendedOn: string | undefined;
  rateLimit: RetryableError | undefined;

  constructor(
    readonly jobId: string,
    private readonly controller: AbortController,
    private readonly allow: { suspend: boolean; pause: boolean },
  ) {}

  countInlineWait(): void {
    this.inlineWaits++;
  }

  suspendUntilPredictionCompletes(predictionId: string): boolean {
    if (!this.allow.suspend || !PREDICTION_ID.test(predictionId) || this.controller.signal.aborted) return false;
    this.suspendedOn = predictionId;
    this.controller.abort(new InterruptedError("suspended"));
    return true;
  }

  pauseForRateLimit(error: RetryableError): boolean {
    if (!this.allow.pause || this.controller.signal.aborted) return false;
    this.rateLimit = error;
    this.controller.abort(new InterruptedError("paused"));
    return true;
  }
}

/**
 * Which Inngest step the code running now belongs to. One per runtime (lib/server/runtime.ts),
 * shared by the step runner that enters it and the providers that ask (prediction waits, rate
 * limits): Next.js bundles routes apart, and a module-level store would exist once per bundle.
 */
export class InngestStepScope {
  private readonly storage = new AsyncLocalStorage<StepExecution>();

  /** The Inngest step this code runs in, if any (undefined under the in-process driver). */
  current(): InngestStepControl | undefined {
    return this.storage.getStore();
  }

  /** @internal the step runner's */
  enter<T>(execution: StepExecution, fn: () => Promise<T>): Promise<T> {
    return this.storage.run(execution, fn);
  }

  /** @internal for pauseOnShortRateLimits */
  execution(): StepExecution | undefined {
    return this.storage.getStore();
  }
}

/** `step.run` of the current invocation, typed loosely: the runner only passes outcomes through. */
export type RunStep = (id: string, fn: () => Promise<unknown>) => Promise<unknown>;

export interface InngestStepRunnerOptions {
  run: RunStep;
  ids: StepIds;
  scope: InngestStepScope;
  store: Store;
  jobId: string;
  /** How often a running step checks whether its job was canceled. */
  cancelPollMs: number;
  /** False once the run has waited for predictions too often: steps then wait inline. */
  allowSuspend: boolean;
  /** False on Inngest's last attempt: a rate limit then parks the job as in-process. */
  allowPause: boolean;
}

/** A StepOutcome that stopped to wait for a prediction; the id rides in the memoized step output. */
export type SuspendedOutcome = { status: "interrupted"; waiting_for_prediction: string };

export function waitingForPrediction(outcome: RunOutcome): string | undefined {
  const value = (outcome as Partial<SuspendedOutcome>).waiting_for_prediction;
  return outcome.status === "interrupted" && typeof value === "string" ? value : undefined;
}

function isInterrupted(value: unknown): boolean {
  return typeof value === "object" && value !== null && (value as { status?: unknown }).status === "interrupted";
}

/**
 * One pass of the executor over the job, on Inngest. Its signal belongs to the pass: a suspended
 * step aborts it, so the next pass (after the wait) gets a new runner.
 */
export class InngestStepRunner implements StepRunner {
  private readonly controller = new AbortController();
  readonly parallelInvocations = true;

  constructor(private readonly options: InngestStepRunnerOptions) {}

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  async step<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const { jobId, allowSuspend, allowPause } = this.options;
    const output = await this.options.run(this.options.ids.next(id), async () => {
      const execution = new StepExecution(jobId, this.controller, { suspend: allowSuspend, pause: allowPause });
      const stopWatching = this.watchForCancel();
      let value: T;
      try {
        value = await this.options.scope.enter(execution, fn);
      } finally {
        stopWatching();
      }
      if (execution.rateLimit && isInterrupted(value)) {
        const seconds = Math.max(1, Math.ceil(execution.rateLimit.retryAfterSeconds ?? SHORT_RATE_LIMIT_SECONDS));
        // Thrown inside step.run: Inngest retries this step (not the run) after the provider's Retry-After.
        throw new RetryAfterError(`Rate limited; Inngest retries this step in ${seconds}s`, `${seconds}s`, {
          cause: execution.rateLimit,
        });
      }
      if (execution.suspendedOn && isInterrupted(value)) {
        return { ...(value as object), waiting_for_prediction: execution.suspendedOn };
      }
      return value;
    });
    return output as T;
  }

  /** Cancels reach a running step through the database, as in-process (Inngest's cancelOn only acts between steps). */
  private watchForCancel(): () => void {
    const { store, jobId, cancelPollMs } = this.options;
    const timer = setInterval(() => {
      store
        .readJobState(jobId)
        .then((job) => {
          if (job?.status === "canceled") this.controller.abort(new CanceledError());
        })
        .catch(() => undefined);
    }, cancelPollMs);
    timer.unref();
    return () => clearInterval(timer);
  }
}

/**
 * Providers whose short rate limits (Retry-After ≤ SHORT_RATE_LIMIT_SECONDS) pause the step for an
 * Inngest retry instead of parking the job. The error still reaches the workflow and the executor,
 * which sees the aborted signal and records nothing. Outside an Inngest step they change nothing.
 */
export function pauseOnShortRateLimits(providers: Providers, scope: InngestStepScope): Providers {
  async function guarded<T>(call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      const execution = scope.execution();
      if (
        execution &&
        isRetryableError(error) &&
        error.reason === "rate_limit" &&
        !error.parkOnly && // refused by the health gate: it paces the release itself
        error.retryAfterSeconds !== undefined &&
        error.retryAfterSeconds <= SHORT_RATE_LIMIT_SECONDS
      ) {
        execution.pauseForRateLimit(error);
      }
      throw error;
    }
  }
  const { storage, models } = providers;
  const guardedStorage: StorageProvider = {
    name: storage.name,
    put: (request) => guarded(() => storage.put(request)),
    read: (url, signal) => guarded(() => storage.read(url, signal)),
    checkHealth: () => storage.checkHealth(),
  };
  const guardedModels: ModelProvider = {
    name: models.name,
    run: (request) => guarded(() => models.run(request)),
    checkHealth: () => models.checkHealth(),
  };
  return { storage: guardedStorage, models: guardedModels };
}
