import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import { InterruptedError } from "@/lib/engine/interrupt";
import { candidateKey, overallProgress, type Run } from "@/lib/engine/run";
import { tracedProviders } from "@/lib/engine/tracing";
import type { Logger } from "@/lib/log";
import type { ModelProvider, ModelUsage, Providers } from "@/lib/providers/types";
import { stepWithModel } from "@/lib/workflows/models";
import { CanceledError, HardError } from "@/lib/workflows/errors";
import { imageInputsOf } from "@/lib/workflows/inputs";
import type { StepContext } from "@/lib/workflows/step-context";

/** Progress writes of a chatty handler are throttled to one per this long (and every change to 100). */
const PROGRESS_INTERVAL_MS = 250;

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
