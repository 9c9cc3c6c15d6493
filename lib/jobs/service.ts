import "server-only";
import { ApiError } from "@/lib/api/errors";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import type { Config } from "@/lib/config";
import type { WorkflowDriver } from "@/lib/engine/driver";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { Logger } from "@/lib/log";
import { budgetGuard, withinBudget } from "@/lib/jobs/budget";
import { estimateJob, storedEstimate } from "@/lib/jobs/costs";
import { cancelSavedPredictions, type ProviderRuntime } from "@/lib/providers";
import { checkpointLayout, stepCheckpoint } from "@/lib/store/checkpoints";
import { deadlineFrom, retryDeadline } from "@/lib/jobs/deadline";
import type { JobCandidates, JobRecord, NewJob as StoreNewJob, NewUpload, Store } from "@/lib/store/types";
import type { WebhookTarget } from "@/lib/webhooks/target";
import type { Workflow } from "@/lib/workflows/definition";
import type { WorkflowEstimate } from "@/lib/workflows/pricing";
import { describeWorkflowChange, workflowChangedMessage } from "@/lib/workflows/versions";

/** What the job use cases need from the runtime (lib/server/runtime.ts). */
export interface JobsDeps {
  config: Config;
  store: Store;
  notifier: JobNotifier;
  driver: WorkflowDriver;
  providers: ProviderRuntime;
  logger: Logger;
  findWorkflow(id: string): Workflow | undefined;
  checkHealth(provider: string): Promise<unknown>;
}

export interface NewJob {
  userId: string;
  workflow: Workflow;
  inputs: Record<string, string>;
  /** The job's image; none for a workflow that takes no file. */
  upload?: NewUpload;
  /** The images of the workflow's further image inputs, by field (the input's name). */
  extraUploads?: (NewUpload & { field: string })[];
  /** Step indexes the job stops before until a person approves (config.json's and the caller's). */
  approvalSteps?: number[];
  /** Steps run as several candidates (lib/workflows/candidates.ts), and auto_pick. */
  candidates?: JobCandidates;
  webhook?: WebhookTarget;
  /** The model each step with a choice runs, by step name (lib/workflows/models.ts). */
  models?: Record<string, string>;
  /** The whole run must end within this many seconds from now (lib/engine/deadlines.ts). */
  deadlineSeconds?: number;
}

export interface CreatedJob {
  jobId: string;
  estimate: WorkflowEstimate;
}

/**
 * Creates the job, its execution, its first event and its uploads in one transaction (within the
 * user's monthly budget, checked in the same transaction), then hands it to the driver.
 */
export async function createJob(deps: Pick<JobsDeps, "config" | "store" | "driver" | "providers">, input: NewJob): Promise<CreatedJob> {
  // Each candidate is a paid run: the estimate (and the budget check) counts them all.
  const estimate = estimateJob(input.workflow, deps.providers, input.candidates?.steps ?? {}, input.models);
  const budget = await budgetGuard(deps, input.userId);
  const jobId = await withinBudget(() => deps.store.insertJob({ ...jobRows(deps, input, estimate), ...(budget && { budget }) }));
  await deps.driver.enqueue(jobId, input.userId);
  return { jobId, estimate };
}

/** The rows a new job starts with, as the store inserts them. */
export function jobRows(deps: Pick<JobsDeps, "config">, input: NewJob, estimate: WorkflowEstimate): StoreNewJob {
  const { workflow } = input;
  return {
    userId: input.userId,
    workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
    inputs: input.inputs,
    maxAttempts: workflow.config.retry?.max_attempts ?? deps.config.WORKFLOW_MAX_ATTEMPTS,
    estimate: storedEstimate(estimate),
    firstEvent: queuedEvent(workflow),
    ...(input.upload && { upload: input.upload }),
    ...(input.extraUploads && input.extraUploads.length > 0 && { extraUploads: input.extraUploads }),
    approvalSteps: input.approvalSteps ?? [],
    ...(input.candidates && Object.keys(input.candidates.steps).length > 0 && { candidates: input.candidates }),
    ...(input.webhook && { webhook: input.webhook }),
    ...(input.models && { models: input.models }),
    ...(input.deadlineSeconds !== undefined && { deadlineAt: deadlineFrom(input.deadlineSeconds)! }),
  };
}

/** A new job's first event: queued, before its first step. */
export function queuedEvent(workflow: Workflow): JobEventInput {
  return { type: "progress", data: { step: 0, step_name: workflow.config.steps[0]!.name, progress: 0, step_progress: 0, message: "Queued" } };
}

/** A job of this user with its checkpoints in the note's layout, or 404: another user's job is indistinguishable from a missing one. */
export async function getOwnJob(store: Store, userId: string, jobId: string) {
  const job = await store.getJob(jobId);
  if (!job || job.userId !== userId) throw new ApiError("not_found", "No such job.");
  return { ...job, layout: checkpointLayout(job.checkpoints) };
}

/** A job of this user with its reruns (lineage): GET /workflows/execution/<job_id>. */
export async function getOwnJobDetails(store: Store, userId: string, jobId: string) {
  const job = await getOwnJob(store, userId, jobId);
  return { ...job, reruns: await store.listReruns(jobId) };
}

export function listOwnJobs(store: Store, userId: string, options: { limit: number; cursor?: string; status?: string }) {
  return store.listJobs(userId, options);
}

const RETRYABLE_STATES: readonly JobStatus[] = ["failed", "pending_retry", "canceled"];
const CANCELABLE_STATES: readonly JobStatus[] = ["queued", "running", "pending_retry", "awaiting_approval", "awaiting_input"];

/** Manual retry: resumes from the last checkpoint with a fresh set of automatic retries. */
export async function retryJob(deps: JobsDeps, userId: string, jobId: string) {
  const job = await getOwnJob(deps.store, userId, jobId);
  if (!RETRYABLE_STATES.includes(job.status as JobStatus)) {
    throw new ApiError("wrong_state", `The job is ${job.status}; only failed, parked or canceled jobs can be retried.`);
  }
  const workflow = deps.findWorkflow(job.workflowId);
  const steps = workflow?.config.steps ?? [];
  const stepIndex = Math.min(job.execution.currentStep, Math.max(0, steps.length - 1));
  await refuseChangedWorkflow(deps.store, job, workflow, stepIndex);
  const budget = await budgetGuard(deps, userId);
  const claimed = await withinBudget(() =>
    deps.store.requeueJob(jobId, {
      from: job.status as JobStatus,
      event: { type: "progress", data: { step: stepIndex, step_name: steps[stepIndex]?.name ?? "", progress: job.progress, step_progress: 0, message: "Retry requested" } },
      ...(budget && { budget }),
      // A job with a deadline gets a fresh one, as long as its first: its old one may be what failed it.
      ...(job.deadlineAt && { deadlineAt: retryDeadline(job)! }),
    }),
  );
  if (!claimed) throw new ApiError("wrong_state", "The job changed state meanwhile; reload and try again.");
  deps.notifier.notify(jobId);
  // A person asking to retry now should not wait for the next sweep to probe the failing provider:
  // probe it here, so a recovered provider's circuit closes before the step runs.
  const failedProvider = job.execution.lastErrorProvider;
  if (failedProvider) await deps.checkHealth(failedProvider).catch(() => undefined);
  await deps.driver.enqueue(jobId, userId);
  return getOwnJob(deps.store, userId, jobId);
}

/**
 * A retry of a job whose workflow changed the steps it would resume at is refused (409
 * workflow_changed) and the job left as it is: it could only fail (lib/workflows/versions.ts).
 */
async function refuseChangedWorkflow(store: Store, job: JobRecord, workflow: Workflow | undefined, resumeAt: number): Promise<void> {
  if (!workflow || job.workflowVersion === null || job.workflowVersion === workflow.version) return;
  const pinned = await store.readWorkflowVersion(job.workflowId, job.workflowVersion);
  if (pinned === undefined) return;
  const firstIncomplete = workflow.config.steps.findIndex((_step, index) => stepCheckpoint(job.checkpoints, index)?.status !== "completed");
  const change = describeWorkflowChange(pinned, workflow.config.steps, firstIncomplete === -1 ? resumeAt : firstIncomplete, job.models);
  if (change) throw new ApiError("workflow_changed", workflowChangedMessage(workflow.config.name, change));
}

/** How often a cancel reads the job again when it moved between two cancelable states meanwhile. */
const CANCEL_ATTEMPTS = 3;

export async function cancelJob(deps: JobsDeps, userId: string, jobId: string) {
  let job = await getOwnJob(deps.store, userId, jobId);
  // A compare-and-set on the status read: a job that moved meanwhile to another cancelable state
  // (queued to running, a pick resuming it, a step parking) is read again and canceled from there.
  for (let attempt = 1; ; attempt++) {
    if (!CANCELABLE_STATES.includes(job.status as JobStatus)) {
      throw new ApiError("wrong_state", `The job is ${job.status}; only queued, running, parked or waiting jobs can be canceled.`);
    }
    const canceled = await deps.store.cancelJob(jobId, {
      from: job.status as JobStatus,
      message: "Canceled by user",
      event: { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } },
    });
    if (canceled) break;
    if (attempt === CANCEL_ATTEMPTS) throw new ApiError("wrong_state", "The job changed state meanwhile; reload and try again.");
    job = await getOwnJob(deps.store, userId, jobId);
  }
  deps.notifier.notify(jobId);
  await deps.driver.interrupt(jobId);
  // A step's candidates keep their predictions on rows of their own: those are canceled too.
  const candidateStates = Object.fromEntries(
    job.checkpoints.filter((row) => row.candidate > 0 && row.state).map((row) => [`${row.stepIndex}.${row.candidate}`, { status: row.status, state: row.state! }]),
  );
  await cancelSavedPredictions(deps.providers, deps.logger, jobId, { ...job.layout, ...candidateStates });
  return getOwnJob(deps.store, userId, jobId);
}
