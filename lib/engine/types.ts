import "server-only";
import type { QueueEstimates } from "@/lib/engine/queue-estimates";
import type { Tracer } from "@opentelemetry/api";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { InterruptReason } from "@/lib/engine/interrupt";
import type { Logger } from "@/lib/log";
import type { Providers } from "@/lib/providers/types";
import type { Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

/** What the engine needs from the runtime (lib/server/runtime.ts); tests build their own. */
export interface EngineDeps {
  store: Store;
  notifier: JobNotifier;
  providers: Providers;
  findWorkflow(id: string): Workflow | undefined;
  logger: Logger;
  /** Base of the retry backoff, in seconds, for workflows that set none. */
  retryBackoffSeconds: number;
  /** When given, each step's start says how long the run has left (`eta_seconds` on its progress event). */
  estimates?: QueueEstimates;
  /**
   * Cancels the paid work a job's unfinished steps saved (a Replicate prediction), when the job
   * fails past its deadline with nobody waiting on that work. Best effort; never throws.
   */
  cancelSavedWork?(jobId: string): Promise<void>;
  /** Set when traces are on (lib/server/tracing.ts): runs, steps and provider calls become spans. */
  tracer?: Tracer;
}

export type StepOutcome =
  | {
      status: "completed";
      output: Record<string, unknown>;
      /** The next step's start was committed with this step's end. */
      nextStarted?: boolean;
      /** This was the last step: the job completed with it. */
      jobCompleted?: boolean;
    }
  | { status: "pending_retry"; reason: string; nextRetryAt: string; retryAfterSeconds?: number }
  | { status: "failed"; code: string; message: string }
  | { status: "canceled" }
  /** The job stopped before `stepIndex` until a person approves it (or the wait times out at `until`). */
  | { status: "awaiting_approval"; stepIndex: number; until: string }
  /** The step's candidates are done: the job waits for a person's pick (POST /workflows/pick). */
  | { status: "awaiting_input"; stepIndex: number }
  | { status: "interrupted"; reason: InterruptReason }
  /** This run's writes were refused: the job changed state, or another runner took it over. */
  | { status: "stopped"; why: string };

export type RunOutcome =
  | { status: "completed"; result: Record<string, unknown> }
  | Exclude<StepOutcome, { status: "completed" }>
  | { status: "skipped"; why: string };
