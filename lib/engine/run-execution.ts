import "server-only";
import { DEADLINE_EXCEEDED, deadlineMessage, pastDeadline } from "@/lib/engine/deadlines";
import { awaitApproval, candidateCount, candidateKey, firstIncompleteStep, needsApproval, startsDirectly, stepStart, type Run } from "@/lib/engine/run";
import { runCandidates } from "@/lib/engine/run-candidates";
import { runStep } from "@/lib/engine/run-step";
import { stepId, type StepRunner } from "@/lib/engine/step-runner";
import { trace } from "@opentelemetry/api";
import { outcomeOf, SPAN_ATTRIBUTES, traced } from "@/lib/engine/tracing";
import type { EngineDeps, RunOutcome, StepOutcome } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";
import type { Fence, LeasedRun, RunSnapshot } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import { describeWorkflowChange, workflowChangedMessage } from "@/lib/workflows/versions";

/**
 * Runs a job's workflow from its first step that is not completed, under the lease the caller
 * took (leaseRun): every write names it, so a runner that lost the job to another changes nothing.
 */
export function runExecution(deps: EngineDeps, options: { leased: LeasedRun; runner: StepRunner; signal: AbortSignal }): Promise<RunOutcome> {
  const { job } = options.leased;
  const attributes = { [SPAN_ATTRIBUTES.jobId]: job.jobId, [SPAN_ATTRIBUTES.workflow]: job.workflowId, ...(job.workflowVersion && { [SPAN_ATTRIBUTES.workflowVersion]: job.workflowVersion }) };
  // Each run is a trace of its own, even when a request (POST /workflows/execute) started it: the run
  // outlives the request. The request's span, if any, is linked. Under Inngest (a runner that splits
  // a run into invocations, each ending after one new step) there is no run span: the SDK's own
  // `inngest.execution` span of each invocation is the step's parent.
  const tracer = options.runner.continuous === true ? deps.tracer : undefined;
  return traced(tracer, "montage.run", attributes, () => execute(deps, options), outcomeOf, { root: true });
}

async function execute(deps: EngineDeps, options: { leased: LeasedRun; runner: StepRunner; signal: AbortSignal }): Promise<RunOutcome> {
  const { job } = options.leased;
  // A job with candidates on a runner whose parallel steps run in invocations of their own, each
  // taking the lease again (Inngest): its writes hold under any take by this run's owner, or the
  // invocations of one run would fence each other out (docs/decisions/2026-12-02-candidates-as-checkpoint-rows.md).
  const parallel = options.runner.parallelInvocations === true && Object.keys(job.candidates.steps).length > 0;
  const fence: Fence = parallel ? { ...options.leased.fence, anyEpoch: true } : options.leased.fence;
  const logger = deps.logger.child({ job_id: job.jobId, workflow_id: job.workflowId });
  if (job.status !== "queued" && job.status !== "running") return { status: "skipped", why: `job is ${job.status}` };
  // Past its deadline (resumed after a crash, a parked wait, or Inngest's wait for a prediction): it fails, nothing runs.
  if (pastDeadline(job.deadlineAt)) {
    await deps.cancelSavedWork?.(job.jobId);
    return failBeforeSteps(deps, fence, job.jobId, DEADLINE_EXCEEDED, deadlineMessage(job.deadlineAt!), logger);
  }
  const workflow = deps.findWorkflow(job.workflowId);
  if (!workflow) return failBeforeSteps(deps, fence, job.jobId, "unknown_workflow", `Workflow ${job.workflowId} is not installed`, logger);

  const checkpoints = new Map(job.checkpoints.filter((row) => row.candidate === 0).map((row) => [row.stepIndex, row]));
  const steps = workflow.config.steps;
  const fromStep = firstIncompleteStep(steps.length, checkpoints);
  const change = await workflowChange(deps, job, workflow, Math.min(fromStep, steps.length - 1));
  if (change) return failBeforeSteps(deps, fence, job.jobId, "workflow_changed", workflowChangedMessage(workflow.config.name, change), logger);

  // The ETA a step's start announces; without it (a failed read) the steps run all the same.
  const estimates = await deps.estimates?.estimates(workflow).catch(() => undefined);
  const candidateRows = new Map(job.checkpoints.filter((row) => row.candidate > 0).map((row) => [candidateKey(row.stepIndex, row.candidate), row]));
  const run: Run = {
    deps,
    workflow,
    job,
    fence,
    attempt: job.status === "queued" ? job.attempts + 1 : job.attempts,
    checkpoints,
    candidateRows,
    runner: options.runner,
    signal: options.signal,
    logger,
    ...(estimates && { estimates }),
  };
  const from = job.status === "queued" ? ({ status: "queued", attempts: job.attempts } as const) : ({ status: "running" } as const);
  /** Set when the previous commit (the run's start, or the previous step's end) also wrote this step's start. */
  let startedWithPrevious = false;
  // A first step that waits for approval (or runs as candidates) is not started with the run: the run begins, then waits (or starts each candidate).
  if (options.runner.continuous === true && fromStep < steps.length && startsDirectly(run, fromStep)) {
    // One commit takes the job from queued to running (or resumes it) and starts its first step.
    const begun = await deps.store.beginRun(fence, { jobId: job.jobId, from, step: stepStart(run, fromStep) });
    if (!begun) return { status: "skipped", why: "job changed state or was taken over" };
    deps.notifier.notify(job.jobId);
    startedWithPrevious = true;
  } else if (job.status === "queued") {
    if (!(await deps.store.beginRun(fence, { jobId: job.jobId, from }))) return { status: "skipped", why: "job changed state or was taken over" };
  }
  logger.info("execution started", { from_step: fromStep, attempt: run.attempt });
  if (deps.tracer && options.runner.continuous === true) trace.getActiveSpan()?.setAttribute(SPAN_ATTRIBUTES.attempt, run.attempt);

  if (fromStep === steps.length) return completeFinishedJob(run);

  let previous: Record<string, unknown> = {};
  for (let index = 0; index < steps.length; index++) {
    const saved = checkpoints.get(index);
    if (saved?.status === "completed") {
      previous = saved.output ?? {};
      continue;
    }
    if (needsApproval(run, index)) return awaitApproval(run, index, previous);
    const alreadyStarted: boolean = startedWithPrevious;
    const count = candidateCount(run, index);
    // Candidates run side by side, each a step of the runner's own (lib/engine/run-candidates.ts).
    const outcome: StepOutcome =
      count > 1 ? await runCandidates(run, index, previous, count) : await options.runner.step(stepId(index, steps[index]!.name), () => runStep(run, index, previous, alreadyStarted));
    if (outcome.status !== "completed") return outcome;
    if (outcome.jobCompleted) {
      logger.info("execution completed");
      return { status: "completed", result: outcome.output };
    }
    startedWithPrevious = outcome.nextStarted === true;
    previous = outcome.output;
  }
  return { status: "skipped", why: "nothing left to run" };
}

/**
 * Every step completed but the job was not (an older version wrote the two apart, and stopped in
 * between): the job completes with the last step's output, nothing runs again.
 */
async function completeFinishedJob(run: Run): Promise<RunOutcome> {
  const { deps, job, workflow } = run;
  const lastIndex = workflow.config.steps.length - 1;
  const last = run.checkpoints.get(lastIndex)!;
  const result = last.output ?? {};
  const completed = await deps.store.completeStep(run.fence, {
    jobId: job.jobId,
    stepIndex: lastIndex,
    candidate: 0,
    output: result,
    completedAt: last.completedAt ?? new Date(),
    progress: 100,
    events: [{ type: "complete", data: { result } }],
    result,
  });
  deps.notifier.notify(job.jobId);
  return completed ? { status: "completed", result } : { status: "skipped", why: "job changed state or was taken over" };
}

/** Why the job cannot resume on the workflow installed now; undefined when it can (lib/workflows/versions.ts). */
async function workflowChange(deps: EngineDeps, job: RunSnapshot, workflow: Workflow, resumeAt: number): Promise<string | undefined> {
  if (job.workflowVersion === null || job.workflowVersion === workflow.version) return undefined;
  const pinned = await deps.store.readWorkflowVersion(job.workflowId, job.workflowVersion);
  // A version never recorded (jobs from before versions were) resumes as before.
  if (pinned === undefined) return undefined;
  // Judged by the models this job runs, not only the steps' defaults: a chosen model since dropped is a change.
  return describeWorkflowChange(pinned, workflow.config.steps, resumeAt, job.models);
}

async function failBeforeSteps(deps: EngineDeps, fence: Fence, jobId: string, code: string, message: string, logger: Logger): Promise<RunOutcome> {
  const failed = await deps.store.failJob(fence, { jobId, code, message, errorClass: "hard", provider: null, events: [{ type: "error", data: { status: "failed", code, error: message } }] });
  deps.notifier.notify(jobId);
  if (!failed) return { status: "skipped", why: "job changed state or was taken over" };
  logger.warn("job failed before its steps", { code, error: message });
  return { status: "failed", code, message };
}
