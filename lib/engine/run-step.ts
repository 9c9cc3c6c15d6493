import "server-only";
import type { CheckpointEvent, JobEventInput } from "@/lib/contract/events";
import { armStepClock, classifyDeadline } from "@/lib/engine/deadlines";
import { InterruptedError, interruptReason } from "@/lib/engine/interrupt";
import { recordFailure } from "@/lib/engine/record-failure";
import { candidateKey, overallProgress, startsDirectly, stepStart, type Run } from "@/lib/engine/run";
import { outcomeOf, SPAN_ATTRIBUTES, traced, tracedProviders } from "@/lib/engine/tracing";
import type { StepOutcome } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";
import type { ModelProvider, ModelUsage, Providers } from "@/lib/providers/types";
import type { StepConfig } from "@/lib/workflows/definition";
import { stepWithModel } from "@/lib/workflows/models";
import { actualStepCost } from "@/lib/workflows/pricing";
import { CanceledError, classifyError, HardError } from "@/lib/workflows/errors";
import { imageInputsOf } from "@/lib/workflows/inputs";
import type { StepContext } from "@/lib/workflows/step-context";

/** Progress writes of a chatty handler are throttled to one per this long (and every change to 100). */
const PROGRESS_INTERVAL_MS = 250;

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
  const { deps, workflow, job, fence } = run;
  // The step as it runs with the job's chosen model (its id, pricing and input).
  const step = stepWithModel(workflow.config.steps[index]!, job.models[workflow.config.steps[index]!.name]);
  const logger = run.logger.child({ step: index, step_name: step.name });
  if (!alreadyStarted) {
    const started = await deps.store.startStep(fence, stepStart(run, index));
    deps.notifier.notify(job.jobId);
    if (!started) return { status: "stopped", why: "job changed state or was taken over" };
  }
  logger.info("step started");

  // The step's own signal: the run's, and also aborted when one of the step's writes is refused.
  const controller = new AbortController();
  const forward = () => controller.abort(run.signal.reason);
  if (run.signal.aborted) forward();
  else run.signal.addEventListener("abort", forward, { once: true });
  // The step's timeout and the run's deadline: when the earlier passes, the step's signal aborts.
  const clock = armStepClock(run, index, controller);
  const context = stepContext(run, index, previous, controller, logger, clock.endsAt);

  let output: Record<string, unknown>;
  try {
    output = await workflow.handlers[step.name]!(context.context);
    if (controller.signal.aborted) throw controller.signal.reason;
  } catch (error) {
    const interrupted = controller.signal.aborted ? interruptReason(controller.signal.reason) : undefined;
    if (interrupted) {
      logger.warn("step interrupted; it resumes from its checkpoint", { reason: interrupted });
      return { status: "interrupted", reason: interrupted };
    }
    // A store call of the engine's own failed inside the handler (e.g. PostgreSQL restarting): not
    // the step's failure. Thrown on, not recorded: the runner sees an interrupted run and recovery resumes the step.
    if (context.engineFailure()) throw context.engineFailure()!.error;
    // Whatever the handler threw once its clock ran out (a provider's own "canceled" too) is the timeout.
    const timedOut = clock.expired();
    if (timedOut) logger.warn("step stopped by its clock", { scope: timedOut.scope, error: timedOut.message });
    const classified = timedOut
      ? classifyDeadline(run, index, timedOut)
      : controller.signal.aborted
        ? ({ kind: "canceled", message: "Canceled by user" } as const)
        : classifyError(error);
    return recordFailure(run, index, classified, logger);
  } finally {
    clock.clear();
    run.signal.removeEventListener("abort", forward);
  }

  return commitStepEnd(run, index, output, stepCost(step, context.usage), {}, logger);
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
  cost: { micros: number | null; providerMs: number | null },
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

/** What the step cost, from what its providers reported for the model runs it made. */
export function stepCost(step: StepConfig, usage: ModelUsage[]): { micros: number | null; providerMs: number | null } {
  const { micros } = actualStepCost(step, usage);
  const computeSeconds = usage.map((run) => run.computeSeconds).filter((seconds): seconds is number => seconds !== undefined);
  return { micros, providerMs: computeSeconds.length > 0 ? Math.round(computeSeconds.reduce((sum, s) => sum + s, 0) * 1000) : null };
}

/**
 * The providers a step's handler gets: the run's, with every model run's reported usage kept for
 * the step's cost. The handler cannot forget to report it.
 */
function meteredProviders(providers: Providers, usage: ModelUsage[], endsAt: Date | undefined): Providers {
  const models: ModelProvider = {
    name: providers.models.name,
    checkHealth: () => providers.models.checkHealth(),
    async run(request) {
      // The step's clock travels with the call: a provider that can be told (Replicate's Cancel-After) stops by itself too.
      const output = await providers.models.run(endsAt && !request.deadlineAt ? { ...request, deadlineAt: endsAt } : request);
      usage.push(output.usage ?? { provider: providers.models.name, free: false });
      return output;
    },
  };
  return { storage: providers.storage, models };
}

/**
 * What a handler gets (lib/workflows/step-context.ts). Its writes (progress, durable state) are
 * the run's, fenced like every other: a refused one aborts the step, as a cancel when the job was
 * canceled, else as lost to another runner. `candidate` (1..n) when the step runs as candidates:
 * the state and progress are that candidate's.
 */
export function stepContext(run: Run, index: number, previous: Record<string, unknown>, controller: AbortController, logger: Logger, endsAt: Date | undefined, candidate = 0) {
  const { deps, workflow, job, fence } = run;
  const step = stepWithModel(workflow.config.steps[index]!, job.models[workflow.config.steps[index]!.name]);
  let engineFailure: { error: unknown } | undefined;
  const engine = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      engineFailure ??= { error };
      throw error;
    }
  };
  const refused = async () => {
    const state = await deps.store.readJobState(job.jobId).catch(() => undefined);
    if (!controller.signal.aborted) controller.abort(state?.status === "canceled" ? new CanceledError() : new InterruptedError("lease_lost"));
  };
  const usage: ModelUsage[] = [];
  let lastProgressWrite = 0;
  let lastPercent = -1;
  const context: StepContext = {
    jobId: job.jobId,
    userId: job.userId,
    stepIndex: index,
    candidate,
    step,
    previous,
    inputs: job.inputs,
    signal: controller.signal,
    // Metered over traced: each provider call is a span, the step's child.
    providers: meteredProviders(tracedProviders(deps.providers, deps.tracer), usage, endsAt),
    log: logger,
    state: {
      get: () => (candidate === 0 ? run.checkpoints.get(index) : run.candidateRows.get(candidateKey(index, candidate)))?.state ?? undefined,
      async save(value) {
        const saved = await engine(() => deps.store.saveStepState(fence, { jobId: job.jobId, stepIndex: index, candidate, state: value }));
        if (!saved) {
          await refused();
          throw controller.signal.reason;
        }
        if (candidate === 0) run.checkpoints.set(index, { ...run.checkpoints.get(index)!, state: value });
        else run.candidateRows.set(candidateKey(index, candidate), { ...run.candidateRows.get(candidateKey(index, candidate))!, state: value });
      },
    },
    async progress(percent, message) {
      const clamped = Math.max(0, Math.min(100, Math.round(percent)));
      const now = Date.now();
      // Throttled: a chatty handler must not turn into a write per frame.
      if (clamped === lastPercent || (now - lastProgressWrite < PROGRESS_INTERVAL_MS && clamped < 100)) return;
      lastProgressWrite = now;
      lastPercent = clamped;
      const progress = overallProgress(index, workflow.config.steps.length, clamped);
      const event: JobEventInput = { type: "progress", data: { step: index, step_name: step.name, progress, step_progress: clamped, ...(message && { message }), ...(candidate > 0 && { candidate }) } };
      const recorded = await engine(() => deps.store.recordProgress(fence, { jobId: job.jobId, progress, event }));
      deps.notifier.notify(job.jobId);
      if (!recorded) await refused();
    },
    async readUpload() {
      const upload = await engine(() => deps.store.readUpload(job.jobId));
      if (!upload) throw new CanceledError("The job's upload is gone");
      return { body: upload.data, contentType: upload.contentType, filename: upload.filename };
    },
    async readInputImage(name) {
      // The first image input is the job's upload (field ""); a further one has its own row.
      const images = imageInputsOf(workflow.config.inputs);
      const index = images.findIndex((input) => input.name === name);
      if (index < 0) throw new HardError("invalid_config", `The workflow declares no image input named ${JSON.stringify(name)}`);
      const upload = await engine(() => deps.store.readUpload(job.jobId, index === 0 ? "" : name));
      return upload ? { body: upload.data, contentType: upload.contentType, filename: upload.filename } : null;
    },
  };
  return { context, usage, engineFailure: () => engineFailure };
}
