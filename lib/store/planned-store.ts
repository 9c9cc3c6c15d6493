import "server-only";
import type { JobEventInput, JobStatus } from "@/lib/contract/events";
import {
  announceQueuedPlan,
  beginRunPlan,
  awaitApprovalPlan,
  awaitInputPlan,
  failCandidatePlan,
  pickCandidatePlan,
  cancelJobPlan,
  decideApprovalPlan,
  expireApprovalPlan,
  expireDeadlinePlan,
  cancelStepPlans,
  claimRetryPlan,
  completeStepPlan,
  deferRetryPlan,
  failPlan,
  parkPlan,
  progressPlan,
  requeuePlan,
  startStepPlan,
  stepStatePlan,
  type AppliedPlan,
  type WritePlan,
} from "@/lib/store/plans";
import type { ApprovalDecision, ApprovalWait, BudgetGuard, CandidatePick, Failure, Fence, InputWait, Park, QueuedJob, StepCompletion, StepFailure, StepStart } from "@/lib/store/types";

/**
 * The store's guarded writes, each built once as a plan (lib/store/plans.ts). A database's store
 * extends this class and renders plans as its own SQL in `applyPlans`.
 */
export abstract class PlannedStore {
  /** Applies the plans in one transaction, each whose guard holds; the job as it was for each applied plan. */
  protected abstract applyPlans(plans: WritePlan[], now: Date): Promise<(AppliedPlan | undefined)[]>;

  private async apply(plan: WritePlan): Promise<AppliedPlan | undefined> {
    const [applied] = await this.applyPlans([plan], new Date());
    return applied;
  }

  async beginRun(fence: Fence, run: { jobId: string; from: { status: "queued"; attempts: number } | { status: "running" }; step?: StepStart }): Promise<boolean> {
    return (await this.apply(beginRunPlan(fence, run))) !== undefined;
  }

  async startStep(fence: Fence, step: StepStart): Promise<boolean> {
    return (await this.apply(startStepPlan(fence, step))) !== undefined;
  }

  async recordProgress(fence: Fence, progress: { jobId: string; progress: number; event: JobEventInput }): Promise<boolean> {
    return (await this.apply(progressPlan(fence, progress))) !== undefined;
  }

  async saveStepState(fence: Fence, state: { jobId: string; stepIndex: number; candidate: number; state: Record<string, unknown> }): Promise<boolean> {
    return (await this.apply(stepStatePlan(fence, state))) !== undefined;
  }

  async completeStep(fence: Fence, completion: StepCompletion): Promise<boolean> {
    return (await this.apply(completeStepPlan(fence, completion))) !== undefined;
  }

  async parkJob(fence: Fence, park: Park): Promise<boolean> {
    return (await this.apply(parkPlan(fence, park))) !== undefined;
  }

  async failJob(fence: Fence | undefined, failure: Failure): Promise<boolean> {
    const now = new Date();
    return (await this.applyPlans([failPlan(fence, failure, now)], now))[0] !== undefined;
  }

  async cancelStep(fence: Fence, cancel: { jobId: string; stepIndex: number; candidate: number; message: string; event: JobEventInput }): Promise<boolean> {
    const now = new Date();
    const [checkpoint] = await this.applyPlans(cancelStepPlans(fence, cancel, now), now);
    return checkpoint !== undefined;
  }

  async awaitApproval(fence: Fence, wait: ApprovalWait): Promise<boolean> {
    return (await this.apply(awaitApprovalPlan(fence, wait))) !== undefined;
  }

  async decideApproval(jobId: string, decision: ApprovalDecision): Promise<boolean> {
    const now = new Date();
    return (await this.applyPlans([decideApprovalPlan(jobId, decision, now)], now))[0] !== undefined;
  }

  async expireApproval(jobId: string, until: Date, event: JobEventInput & { type: "error" }): Promise<boolean> {
    const now = new Date();
    return (await this.applyPlans([expireApprovalPlan(jobId, until, event, now)], now))[0] !== undefined;
  }

  async awaitInput(fence: Fence, wait: InputWait): Promise<boolean> {
    return (await this.apply(awaitInputPlan(fence, wait))) !== undefined;
  }

  async failCandidate(fence: Fence, failure: { jobId: string; step: StepFailure; events: JobEventInput[] }): Promise<boolean> {
    return (await this.apply(failCandidatePlan(fence, failure))) !== undefined;
  }

  async pickCandidate(jobId: string, pick: CandidatePick): Promise<boolean> {
    return (await this.applyPlans([pickCandidatePlan(jobId, pick)], pick.pickedAt))[0] !== undefined;
  }

  async expireDeadline(jobId: string, failure: { message: string; event: JobEventInput & { type: "error" } }): Promise<boolean> {
    const now = new Date();
    return (await this.applyPlans([expireDeadlinePlan(jobId, failure, now)], now))[0] !== undefined;
  }

  async cancelJob(jobId: string, change: { from: JobStatus; message: string; event: JobEventInput }): Promise<boolean> {
    const now = new Date();
    return (await this.applyPlans([cancelJobPlan(jobId, change, now)], now))[0] !== undefined;
  }

  /** Without a budget guard; each database's store checks one in the same transaction (see Store.requeueJob). */
  async requeueJob(jobId: string, change: { from: JobStatus; event: JobEventInput; budget?: BudgetGuard; deadlineAt?: Date }): Promise<boolean> {
    return (await this.apply(requeuePlan(jobId, change))) !== undefined;
  }

  async claimRetry(jobId: string): Promise<QueuedJob | undefined> {
    const applied = await this.apply(claimRetryPlan(jobId));
    return applied && { id: jobId, userId: applied.userId, attempts: applied.attempts };
  }

  async deferRetry(jobId: string, until: Date): Promise<void> {
    await this.apply(deferRetryPlan(jobId, until));
  }

  async announceQueued(announcements: readonly { jobId: string; event: JobEventInput }[]): Promise<boolean[]> {
    if (announcements.length === 0) return [];
    // One transaction for a whole line's new places: one commit, not one per waiting job.
    const applied = await this.applyPlans(
      announcements.map(({ jobId, event }) => announceQueuedPlan(jobId, event)),
      new Date(),
    );
    return applied.map((plan) => plan !== undefined);
  }
}
