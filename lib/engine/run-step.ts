import "server-only";
import type { CheckpointEvent, JobEventInput } from "@/lib/contract/events";
import { recordFailure } from "@/lib/engine/record-failure";
import { overallProgress, startsDirectly, stepStart, type Run } from "@/lib/engine/run";
import { runHandler, type StepCost } from "@/lib/engine/run-handler";
import { outcomeOf, SPAN_ATTRIBUTES, traced } from "@/lib/engine/tracing";
import type { StepOutcome } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";

/**
 * One step: its start (unless the previous commit wrote it), the handler, and its end: completed
 * together with the next step's start (or the job's completion), or a failure routed by class.
 */
export function runStep(run: Run, index: number, previous: Record<string, unknown>, alreadyStarted: boolean): Promise<StepOutcome> {
  const step = run.workflow.config.steps[index]!;
  const attributes = {
    [SPAN_ATTRIBUTES.jobId]: run.job.jobId,
    [SPAN_ATTRIBUTES.workflow]: run.workflow.config.id,
    [SPAN_ATTRIBUTES.step]: index,
    [SPAN_ATTRIBUTES.stepName]: step.name,
    [SPAN_ATTRIBUTES.attempt]: run.attempt,
  };
  return traced(run.deps.tracer, "montage.step", attributes, () => executeStep(run, index, previous, alreadyStarted), outcomeOf);
}

async function executeStep(run: Run, index: number, previous: Record<string, unknown>, alreadyStarted: boolean): Promise<StepOutcome> {
  const step = run.workflow.config.steps[index]!;
  const logger = run.logger.child({ step: index, step_name: step.name });
  const ended = await runHandler(run, index, previous, { candidate: 0, start: !alreadyStarted, logger });
  if (ended.status === "completed") return commitStepEnd(run, index, ended.output, ended.cost, {}, logger);
  if (ended.status === "failed") return recordFailure(run, index, ended.failure, logger);
  return ended;
}

/**
 * A step's end: its completed checkpoint (candidate 0) with the next step's start (when the runner
 * runs steps back to back and the next one starts directly) or the job's completion, in one commit.
 * A pick among candidates ends its step this way too, with `picked` in the checkpoint event.
 */
export async function commitStepEnd(
  run: Run,
  index: number,
  output: Record<string, unknown>,
  cost: StepCost,
  picked: Pick<CheckpointEvent, "picked_candidate" | "picked_by">,
  logger: Logger,
): Promise<StepOutcome> {
  const { deps, workflow, job, fence } = run;
  const step = workflow.config.steps[index]!;
  const stepCount = workflow.config.steps.length;
  const isLast = index + 1 === stepCount;
  const next = index + 1;
  // A next step that waits for approval, or runs as candidates, is not started here.
  const startsNext = run.runner.continuous === true && !isLast && run.checkpoints.get(next)?.status !== "completed" && startsDirectly(run, next);
  const previousNext = run.checkpoints.get(next);
  const progress = overallProgress(next, stepCount, 0);
  const events: JobEventInput[] = [
    { type: "progress", data: { step: index, step_name: step.name, progress, step_progress: 100 } },
    { type: "checkpoint", data: { step: index, step_name: step.name, status: "completed", output, ...picked } },
  ];
  if (isLast) events.push({ type: "complete", data: { result: output } });
  const completedAt = new Date();
  const completed = await deps.store.completeStep(fence, {
    jobId: job.jobId,
    stepIndex: index,
    candidate: 0,
    output,
    cost,
    completedAt,
    progress,
    events,
    ...(startsNext && { next: stepStart(run, next) }),
    ...(isLast && { result: output }),
  });
  deps.notifier.notify(job.jobId);
  if (!completed) {
    // The next step's start was not committed either: forget it here too.
    if (previousNext) run.checkpoints.set(next, previousNext);
    else run.checkpoints.delete(next);
    logger.info("step finished after the job changed state or was taken over; output discarded");
    return { status: "stopped", why: "job changed state or was taken over" };
  }
  run.checkpoints.set(index, { ...run.checkpoints.get(index)!, status: "completed", output, state: null, completedAt, costMicroUsd: cost.micros, providerMs: cost.providerMs });
  logger.info("step completed");
  return { status: "completed", output, ...(startsNext && { nextStarted: true }), ...(isLast && { jobCompleted: true }) };
}
