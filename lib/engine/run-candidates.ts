import "server-only";
import { randomBytes } from "node:crypto";
import type { CandidateCheckpoint, JobEventInput } from "@/lib/contract/events";
import type { InterruptReason } from "@/lib/engine/interrupt";
import { fail, recordFailure } from "@/lib/engine/record-failure";
import { candidateKey, overallProgress, type Run } from "@/lib/engine/run";
import { runHandler, type HandlerOutcome } from "@/lib/engine/run-handler";
import { commitStepEnd } from "@/lib/engine/run-step";
import { stepId } from "@/lib/engine/step-runner";
import type { StepOutcome } from "@/lib/engine/types";
import type { Logger } from "@/lib/log";
import type { ClassifiedError } from "@/lib/workflows/errors";

/**
 * What one candidate's run ends with. Plain data: under Inngest it is a step's memoized output.
 * A completed or hard-failed candidate is already recorded on its own checkpoint row; the others
 * are recorded once every candidate has settled (a park or a cancel ends the whole run, and must
 * not refuse the writes of candidates still running beside it).
 */
export type CandidateResult =
  | { status: "completed"; output: Record<string, unknown> }
  | { status: "failed"; code: string; message: string }
  | { status: "retryable"; failure: Extract<ClassifiedError, { kind: "retryable" }> }
  /** The run's deadline passed while the candidate ran: the whole job fails with deadline_exceeded. */
  | { status: "past_deadline"; failure: ClassifiedError }
  | { status: "canceled"; message: string }
  | { status: "interrupted"; reason: InterruptReason }
  | { status: "stopped"; why: string };

export function candidateStepId(index: number, name: string, candidate: number): string {
  return `${stepId(index, name)}-candidate-${candidate}`;
}

/**
 * A step run as `count` candidates: each one not yet done runs as a step of the runner's own, all
 * at once (Promise.all: in-process they share the job's slot; under Inngest they are parallel
 * steps). Each is checkpointed on its own row (candidate 1..n), so a crash or a park loses none:
 * the next run starts only the ones not completed. When all have settled: the first retryable
 * failure parks the job (or fails it after its last attempt), a cancel cancels it; otherwise the
 * job waits for a pick as awaiting_input, or with auto_pick the first that succeeded is the step's
 * output at once. A candidate that fails hard is left out of the pick; if every one does, the job fails.
 */
export async function runCandidates(run: Run, index: number, previous: Record<string, unknown>, count: number): Promise<StepOutcome> {
  const step = run.workflow.config.steps[index]!;
  const logger = run.logger.child({ step: index, step_name: step.name, candidates: count });
  const candidates = Array.from({ length: count }, (_unused, i) => i + 1);
  const results = await Promise.all(
    // Every candidate is asked for as a step, done or not, so the set of parallel steps is the same
    // on every invocation (Inngest plans them by it); one done before this run answers from its row.
    candidates.map((candidate): Promise<CandidateResult> =>
      run.runner.step(candidateStepId(index, step.name, candidate), async (): Promise<CandidateResult> => {
        const saved = run.candidateRows.get(candidateKey(index, candidate));
        if (saved?.status === "completed") return { status: "completed", output: saved.output ?? {} };
        if (saved?.status === "failed") return { status: "failed", code: saved.errorReason ?? "failed", message: saved.error ?? "failed" };
        return runCandidate(run, index, candidate, previous);
      }),
    ),
  );

  const stopped = results.find((result) => result.status === "stopped");
  if (stopped) return stopped;
  // Under Inngest an interrupted result may carry the prediction to wait for: handed on as it is.
  const interrupted = results.find((result) => result.status === "interrupted");
  if (interrupted) return interrupted as StepOutcome;
  const canceled = results.findIndex((result) => result.status === "canceled");
  if (canceled >= 0) return recordFailure(run, index, { kind: "canceled", message: (results[canceled] as { message: string }).message }, logger, canceled + 1);
  const pastDeadline = results.findIndex((result) => result.status === "past_deadline");
  if (pastDeadline >= 0) return recordFailure(run, index, (results[pastDeadline] as { failure: ClassifiedError }).failure, logger, pastDeadline + 1);
  const retryable = results.findIndex((result) => result.status === "retryable");
  if (retryable >= 0) return recordFailure(run, index, (results[retryable] as { failure: ClassifiedError }).failure, logger, retryable + 1);

  const succeeded = candidates.filter((candidate) => results[candidate - 1]!.status === "completed");
  if (succeeded.length === 0) {
    const last = results[results.length - 1] as { code: string; message: string };
    const message = `Every candidate of "${step.label}" failed; the last: ${last.message}`;
    return fail(run, index, { code: last.code, message, errorClass: "hard", reason: last.code, provider: null }, logger);
  }
  if (run.job.candidates.autoPick) {
    const chosen = succeeded[0]!;
    logger.info("candidates done; the first that succeeded is picked (auto_pick)", { picked: chosen });
    // The pick costs nothing of its own: the candidates' rows carry what they cost.
    return commitStepEnd(run, index, (results[chosen - 1] as { output: Record<string, unknown> }).output, { micros: 0, providerMs: null }, { picked_candidate: chosen, picked_by: "auto" }, logger);
  }
  return awaitInput(run, index, results);
}

/** The run stops after the step's candidates until a person picks one: awaiting_input, the lease released with it. */
async function awaitInput(run: Run, index: number, results: CandidateResult[]): Promise<StepOutcome> {
  const { deps, workflow, job } = run;
  const step = workflow.config.steps[index]!;
  const since = new Date();
  const candidates: CandidateCheckpoint[] = results.map((result, i) =>
    result.status === "completed" ? { candidate: i + 1, status: "completed", output: result.output } : { candidate: i + 1, status: "failed", error: (result as { message: string }).message },
  );
  const waiting = await deps.store.awaitInput(run.fence, {
    jobId: job.jobId,
    stepIndex: index,
    since,
    event: { type: "awaiting", data: { status: "awaiting_input", awaiting: "pick", step: index, step_name: step.name, candidates, since: since.toISOString() } },
  });
  deps.notifier.notify(job.jobId);
  if (!waiting) return { status: "stopped", why: "job changed state or was taken over" };
  run.logger.info("candidates done; waiting for a pick", { step: index });
  return { status: "awaiting_input", stepIndex: index };
}

/** One candidate: its start, the handler with the candidate's own context, and its end on its own row. */
async function runCandidate(run: Run, index: number, candidate: number, previous: Record<string, unknown>): Promise<CandidateResult> {
  const { deps, workflow, job, fence } = run;
  const step = workflow.config.steps[index]!;
  const logger = run.logger.child({ step: index, step_name: step.name, candidate });
  const ended = await runHandler(run, index, previous, { candidate, start: true, logger });
  if (ended.status === "failed") return settleFailedCandidate(run, index, candidate, ended, logger);
  if (ended.status !== "completed") return ended;

  const { output, cost } = ended;
  const completedAt = new Date();
  const events: JobEventInput[] = [{ type: "checkpoint", data: { step: index, step_name: step.name, status: "completed", output, candidate } }];
  const progress = overallProgress(index, workflow.config.steps.length, 100);
  const completed = await deps.store.completeStep(fence, { jobId: job.jobId, stepIndex: index, candidate, output, cost, completedAt, progress, events });
  deps.notifier.notify(job.jobId);
  if (!completed) return { status: "stopped", why: "job changed state or was taken over" };
  const key = candidateKey(index, candidate);
  run.candidateRows.set(key, { ...run.candidateRows.get(key)!, status: "completed", output, state: null, completedAt, costMicroUsd: cost.micros, providerMs: cost.providerMs });
  logger.info("candidate completed");
  return { status: "completed", output };
}

/**
 * A candidate's failure: a hard one is recorded on its own row at once; the others (past the run's
 * deadline, canceled, retryable) wait until every candidate has settled.
 */
async function settleFailedCandidate(run: Run, index: number, candidate: number, ended: Extract<HandlerOutcome, { status: "failed" }>, logger: Logger): Promise<CandidateResult> {
  const { failure } = ended;
  if (ended.deadline === "run") return { status: "past_deadline", failure };
  if (failure.kind === "canceled") return { status: "canceled", message: failure.message };
  if (failure.kind === "retryable") return { status: "retryable", failure };
  return failCandidate(run, index, candidate, hardFailure(failure, run.workflow.config.steps[index]!.label, logger), logger);
}

function hardFailure(classified: Exclude<ClassifiedError, { kind: "retryable" | "canceled" }>, label: string, logger: { error(message: string, fields: Record<string, unknown>): void }) {
  if (classified.kind === "hard") return { code: classified.code, message: classified.message };
  // Raw messages never reach the job: logged under an id, as for a step (record-failure.ts).
  const errorId = randomBytes(6).toString("hex");
  logger.error("candidate failed with an unexpected error", { error_id: errorId, err: classified.error });
  return { code: "step_failed", message: `A candidate of "${label}" failed with an unexpected error (error id ${errorId}); the server log has the details under this id.` };
}

/** A candidate failed for good: its own row says so; the job runs on with the others. */
async function failCandidate(run: Run, index: number, candidate: number, failure: { code: string; message: string }, logger: { warn(message: string, fields: Record<string, unknown>): void }): Promise<CandidateResult> {
  const { deps, workflow, job, fence } = run;
  const step = workflow.config.steps[index]!;
  const recorded = await deps.store.failCandidate(fence, {
    jobId: job.jobId,
    step: { stepIndex: index, candidate, error: failure.message, errorClass: "hard", errorReason: failure.code },
    events: [{ type: "checkpoint", data: { step: index, step_name: step.name, status: "failed", error: failure.message, error_class: "hard", error_reason: failure.code, candidate } }],
  });
  deps.notifier.notify(job.jobId);
  if (!recorded) return { status: "stopped", why: "job changed state or was taken over" };
  logger.warn("candidate failed", { code: failure.code, error: failure.message });
  return { status: "failed", ...failure };
}

