import { runExecution } from "@/lib/engine/run-execution";
import { directStepRunner, type StepRunner } from "@/lib/engine/step-runner";
import type { EngineDeps, RunOutcome } from "@/lib/engine/types";
import type { Store } from "@/lib/store/types";
import type { StepHandler, Workflow, WorkflowConfig } from "@/lib/workflows/definition";

/** A workflow of the test's own: the given steps (generation steps named as given) with these handlers. */
export function testWorkflow(id: string, handlers: Record<string, StepHandler>, config: Partial<WorkflowConfig> = {}): Workflow {
  return {
    config: {
      id,
      name: id,
      description: "",
      icon: "🧪",
      steps: Object.keys(handlers).map((name) => ({ name, type: "generation", label: `Step ${name}` })),
      inputs: [],
      ...config,
    },
    handlers,
    version: "test-1",
  };
}

/** Stores a queued job of the workflow, as POST /workflows/execute does (without the upload). */
export function insertTestJob(store: Store, workflow: Workflow, userId: string, inputs: Record<string, string> = {}): Promise<string> {
  return store.insertJob({
    userId,
    workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
    inputs,
    maxAttempts: workflow.config.retry?.max_attempts ?? 5,
    firstEvent: { type: "progress", data: { step: 0, step_name: workflow.config.steps[0]!.name, progress: 0, step_progress: 0, message: "Queued" } },
  });
}

/**
 * One run of a job as a runner makes it: take the lease, run, hand the lease back. Undefined when
 * another owner holds the lease.
 */
export async function runJob(
  engine: EngineDeps,
  jobId: string,
  options: { owner?: string; signal?: AbortSignal; runner?: StepRunner; ttlMs?: number } = {},
): Promise<RunOutcome | undefined> {
  const owner = options.owner ?? "test-runner";
  const leased = await engine.store.leaseRun(jobId, owner, { ttlMs: options.ttlMs ?? 30_000 });
  if (!leased) return undefined;
  try {
    return await runExecution(engine, { leased, runner: options.runner ?? directStepRunner, signal: options.signal ?? new AbortController().signal });
  } finally {
    await engine.store.releaseLease(jobId, leased.fence).catch(() => undefined);
  }
}
