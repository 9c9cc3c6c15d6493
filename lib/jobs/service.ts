import { ApiError } from "@/lib/api/errors";
import type { Checkpoints, JobEventInput } from "@/lib/contract/events";
import { db } from "@/lib/db/client";
import { notifyJobEvents } from "@/lib/engine/notifier";
import { workflowDriver } from "@/lib/engine/driver";
import { insertJob } from "@/lib/jobs/insert";
import { cancelSavedPredictions, checkProviderHealth, providers } from "@/lib/providers";
import type { Workflow } from "@/lib/workflows/definition";
import { findWorkflow } from "@/lib/workflows/registry";
import { config } from "@/lib/config";

/** Upload columns without the bytes: lists and details never load file data. */
const uploadSummary = { select: { filename: true, contentType: true, size: true, width: true, height: true } } as const;

export interface NewJob {
  userId: string;
  workflow: Workflow;
  inputs: Record<string, string>;
  upload: { filename: string; contentType: string; data: Buffer; width: number; height: number };
}

/** Creates the job, its execution, its first event and its upload in one transaction, then hands it to the driver. */
export async function createJob(input: NewJob): Promise<string> {
  const { workflow } = input;
  const jobId = await insertJob(db(), {
    userId: input.userId,
    workflowId: workflow.config.id,
    inputs: input.inputs,
    maxRetries: workflow.config.retry?.max_attempts ?? config().WORKFLOW_MAX_ATTEMPTS,
    firstEvent: queuedEvent(workflow),
    upload: input.upload,
  });
  await workflowDriver().enqueue(jobId);
  return jobId;
}

/** A new job's first event: queued, before its first step. */
export function queuedEvent(workflow: Workflow): JobEventInput {
  return { type: "progress", data: { step: 0, step_name: workflow.config.steps[0]!.name, progress: 0, step_progress: 0, message: "Queued" } };
}

/** A job of this user, or 404: another user's job is indistinguishable from a missing one. */
export async function getOwnJob(userId: string, jobId: string) {
  const job = await db().job.findFirst({
    where: { id: jobId, userId },
    include: { execution: true, upload: uploadSummary },
  });
  if (!job?.execution) throw new ApiError("not_found", "No such job.");
  return { ...job, execution: job.execution, checkpoints: (job.execution.checkpoints ?? {}) as unknown as Checkpoints };
}

export async function listOwnJobs(userId: string, options: { limit: number; cursor?: string; status?: string }) {
  const jobs = await db().job.findMany({
    where: { userId, ...(options.status && { status: options.status }) },
    include: { upload: uploadSummary, execution: { select: { retryCount: true, maxRetries: true } } },
    orderBy: [{ createdAt: "desc" }, { id: "desc" }],
    take: options.limit + 1,
    ...(options.cursor && { cursor: { id: options.cursor }, skip: 1 }),
  });
  const page = jobs.slice(0, options.limit);
  return { jobs: page, nextCursor: jobs.length > options.limit ? page.at(-1)!.id : null };
}

const RETRYABLE_STATES = ["failed", "pending_retry", "canceled"];
const CANCELABLE_STATES = ["queued", "running", "pending_retry"];

/** Manual retry: resumes from the last checkpoint with a fresh set of automatic retries. */
export async function retryJob(userId: string, jobId: string) {
  const job = await getOwnJob(userId, jobId);
  if (!RETRYABLE_STATES.includes(job.status)) {
    throw new ApiError("wrong_state", `The job is ${job.status}; only failed, parked or canceled jobs can be retried.`);
  }
  const database = db();
  const claimed = await database.$transaction(async (tx) => {
    const updated = await tx.job.updateMany({
      where: { id: jobId, status: job.status },
      data: { status: "queued", nextRetryAt: null, error: null, errorCode: null, completedAt: null },
    });
    if (updated.count === 0) return false;
    await tx.workflowExecution.update({ where: { jobId }, data: { retryCount: 0 } });
    const steps = findWorkflow(job.workflowId)?.config.steps ?? [];
    const stepIndex = Math.min(job.execution.currentStep, Math.max(0, steps.length - 1));
    await tx.jobEvent.create({
      data: {
        jobId,
        type: "progress",
        data: { step: stepIndex, step_name: steps[stepIndex]?.name ?? "", progress: job.progress, step_progress: 0, message: "Retry requested" },
      },
    });
    return true;
  });
  if (!claimed) throw new ApiError("wrong_state", "The job changed state meanwhile; reload and try again.");
  notifyJobEvents(jobId);
  // A person asking to retry now should not wait for the next sweep to probe the failing provider:
  // probe it here, so a recovered provider's circuit closes before the step runs.
  const failedProvider = job.execution.lastErrorProvider;
  if (failedProvider) await checkProviderHealth(providers(), failedProvider).catch(() => undefined);
  await workflowDriver().enqueue(jobId);
  return getOwnJob(userId, jobId);
}

export async function cancelJob(userId: string, jobId: string) {
  const job = await getOwnJob(userId, jobId);
  if (!CANCELABLE_STATES.includes(job.status)) {
    throw new ApiError("wrong_state", `The job is ${job.status}; only queued, running or parked jobs can be canceled.`);
  }
  const canceled = await db().$transaction(async (tx) => {
    const updated = await tx.job.updateMany({
      where: { id: jobId, status: job.status },
      data: { status: "canceled", error: "Canceled by user", errorCode: "canceled", nextRetryAt: null, completedAt: new Date() },
    });
    if (updated.count === 0) return false;
    await tx.jobEvent.create({ data: { jobId, type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } } });
    return true;
  });
  if (!canceled) throw new ApiError("wrong_state", "The job changed state meanwhile; reload and try again.");
  notifyJobEvents(jobId);
  await workflowDriver().interrupt(jobId);
  await cancelSavedPredictions(jobId, job.checkpoints);
  return getOwnJob(userId, jobId);
}
