import "server-only";
import { armStepClock, classifyDeadline } from "@/lib/engine/deadlines";
import { interruptReason, type InterruptReason } from "@/lib/engine/interrupt";
import { stepStart, type Run } from "@/lib/engine/run";
import { stepContext } from "@/lib/engine/step-context";
import type { Logger } from "@/lib/log";
import type { ModelUsage } from "@/lib/providers/types";
import type { StepConfig } from "@/lib/workflows/definition";
import { stepWithModel } from "@/lib/workflows/models";
import { actualStepCost } from "@/lib/workflows/pricing";
import { classifyError, type ClassifiedError, type DeadlineError } from "@/lib/workflows/errors";

export interface StepCost {
  micros: number | null;
  providerMs: number | null;
}

/**
 * How a step's handler ended, before its end is recorded: a step run once commits it itself
 * (run-step.ts), a candidate on its own row (run-candidates.ts).
 */
export type HandlerOutcome =
  | { status: "completed"; output: Record<string, unknown>; cost: StepCost }
  /** `deadline`: which clock stopped the handler, when one did ("run": the run's deadline passed). */
  | { status: "failed"; failure: ClassifiedError; deadline?: DeadlineError["scope"] }
  | { status: "interrupted"; reason: InterruptReason }
  /** This run's writes were refused: the job changed state, or another runner took it over. */
  | { status: "stopped"; why: string };

/**
 * One run of a step's handler, as the step itself (candidate 0) or as one of its candidates:
 * its start (unless the previous commit wrote it), the step's own signal, its clock, the handler,
 * and what it ended with, its failure classified. An interrupt is not a failure (the step resumes
 * from its checkpoint), nor is a store call of the engine's own that failed inside the handler.
 */
export async function runHandler(
  run: Run,
  index: number,
  previous: Record<string, unknown>,
  options: { candidate: number; start: boolean; logger: Logger },
): Promise<HandlerOutcome> {
  const { deps, workflow, job, fence } = run;
  const { candidate, logger } = options;
  const what = candidate > 0 ? "candidate" : "step";
  // The step as it runs with the job's chosen model (its id, pricing and input).
  const step = stepWithModel(workflow.config.steps[index]!, job.models[workflow.config.steps[index]!.name]);
  if (options.start) {
    const started = await deps.store.startStep(fence, stepStart(run, index, candidate));
    deps.notifier.notify(job.jobId);
    if (!started) return { status: "stopped", why: "job changed state or was taken over" };
  }
  logger.info(`${what} started`);

  // The step's own signal: the run's, and also aborted when one of the step's writes is refused.
  const controller = new AbortController();
  const forward = () => controller.abort(run.signal.reason);
  if (run.signal.aborted) forward();
  else run.signal.addEventListener("abort", forward, { once: true });
  // The step's timeout and the run's deadline (for each candidate as for a step run once): when the earlier passes, the step's signal aborts.
  const clock = armStepClock(run, index, controller);
  const context = stepContext(run, index, previous, controller, logger, clock.endsAt, candidate);

  try {
    const output = await workflow.handlers[step.name]!(context.context);
    if (controller.signal.aborted) throw controller.signal.reason;
    return { status: "completed", output, cost: stepCost(step, context.usage) };
  } catch (error) {
    const interrupted = controller.signal.aborted ? interruptReason(controller.signal.reason) : undefined;
    if (interrupted) {
      logger.warn(`${what} interrupted; it resumes from its checkpoint`, { reason: interrupted });
      return { status: "interrupted", reason: interrupted };
    }
    // A store call of the engine's own failed inside the handler (e.g. PostgreSQL restarting): not
    // the step's failure. Thrown on, not recorded: the runner sees an interrupted run and recovery resumes the step.
    if (context.engineFailure()) throw context.engineFailure()!.error;
    // Whatever the handler threw once its clock ran out (a provider's own "canceled" too) is the timeout.
    const timedOut = clock.expired();
    if (timedOut) {
      logger.warn(`${what} stopped by its clock`, { scope: timedOut.scope, error: timedOut.message });
      return { status: "failed", failure: classifyDeadline(run, index, timedOut), deadline: timedOut.scope };
    }
    const failure = controller.signal.aborted ? ({ kind: "canceled", message: "Canceled by user" } as const) : classifyError(error);
    return { status: "failed", failure };
  } finally {
    clock.clear();
    run.signal.removeEventListener("abort", forward);
  }
}

/** What the step cost, from what its providers reported for the model runs it made. */
export function stepCost(step: StepConfig, usage: ModelUsage[]): StepCost {
  const { micros } = actualStepCost(step, usage);
  const computeSeconds = usage.map((run) => run.computeSeconds).filter((seconds): seconds is number => seconds !== undefined);
  return { micros, providerMs: computeSeconds.length > 0 ? Math.round(computeSeconds.reduce((sum, s) => sum + s, 0) * 1000) : null };
}
