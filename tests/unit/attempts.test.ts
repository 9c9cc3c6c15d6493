import { describe, expect, it } from "vitest";
import type { ExecutionDetails } from "@/components/api/types";
import { applyJobEvent, emptyJobView, jobViewFromSnapshot, viewAttempts, type JobEvent, type JobView } from "@/components/jobs/job-state";
import type { JobStatus } from "@/lib/contract/events";
import { attemptLabel, countAttempts } from "@/lib/jobs/attempts";
import type { JobSummary } from "@/lib/store/types";
import { jobToJson } from "@/lib/jobs/serialize";

describe("countAttempts: one rule for attempts", () => {
  it.each([
    // status, retry_count, max → made, next
    ["queued", 0, 5, 0, 1],
    ["running", 0, 5, 1, null],
    ["pending_retry", 1, 5, 1, 2],
    ["running", 1, 5, 2, null],
    ["completed", 0, 5, 1, null],
    ["completed", 2, 5, 3, null],
    ["failed", 0, 5, 1, null], // a hard failure on the first attempt
    ["failed", 5, 5, 5, null], // "Gave up after 5 attempts"
    ["canceled", 1, 5, 1, null],
    ["pending_retry", 0, 5, 0, 1], // held back by the health gate: not an attempt
  ] as const)("%s with retry_count %i of %i: %i made, next %s", (status, retryCount, maxAttempts, made, next) => {
    expect(countAttempts({ status, retryCount, maxAttempts })).toEqual({ made, next, limit: maxAttempts });
  });

  it("never counts past the limit", () => {
    expect(countAttempts({ status: "pending_retry", retryCount: 9, maxAttempts: 3 })).toEqual({ made: 3, next: 3, limit: 3 });
    expect(attemptLabel(2, 5)).toBe("attempt 2 of 5");
  });
});

/** The run: the job row and execution as stored, and the events the stream sent, at one moment. */
interface Moment {
  status: JobStatus;
  /** jobs.attempts: runs started, which the API used to show as "attempts". */
  runsStarted: number;
  retryCount: number;
  events: Omit<JobEvent, "id">[];
}

const MAX = 5;
const queued = { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } } as const;
const parkedBy = (reason: string, retryCount: number) =>
  ({ type: "retry_scheduled", data: { step: 1, step_name: "image_edit", reason, error: "…", next_retry_at: "2030-01-01T00:00:00.000Z", retry_count: retryCount, max_retries: MAX } }) as const;
const retryRequested = { type: "progress", data: { step: 1, step_name: "image_edit", progress: 33, step_progress: 0, message: "Retry requested" } } as const;
const running = { type: "progress", data: { step: 1, step_name: "image_edit", progress: 40, step_progress: 10, message: "Editing image" } } as const;

function snapshot(moment: Moment): ExecutionDetails {
  const now = new Date("2030-01-01T00:00:00.000Z");
  // As the database holds it: jobs.attempts (runs started) is there, and must not be what the API calls attempts.
  const row: JobSummary = {
    id: "00000000-0000-4000-8000-000000000000",
    userId: "00000000-0000-4000-8000-0000000000aa",
    workflowId: "img-edit-to-video",
    workflowVersion: "0123456789ab",
    upload: null,
    status: moment.status,
    progress: 33,
    inputs: {},
    result: null,
    error: null,
    errorCode: null,
    nextRetryAt: null,
    createdAt: now,
    updatedAt: now,
    completedAt: null,
    attempts: moment.runsStarted,
    retryCount: moment.retryCount,
    maxAttempts: MAX,
    parentJobId: null,
    rerunFromStep: null,
    approvalSteps: [],
    awaitingSince: null,
    awaitingUntil: null,
    candidates: { steps: {}, autoPick: false },
    estimate: { micros: 0, steps: [] },
    actualMicroUsd: 0,
    models: {},
    deadlineAt: null,
  };
  const job = jobToJson(row);
  return {
    success: true,
    job,
    execution: {
      id: "00000000-0000-4000-8000-000000000001",
      job_id: job.id,
      workflow_id: job.workflow_id,
      current_step: 1,
      retry_count: moment.retryCount,
      max_retries: MAX,
      last_error: null,
      last_error_class: null,
      last_error_reason: null,
      created_at: job.created_at,
      updated_at: job.updated_at,
    },
    checkpoints: {},
    steps: [],
    reruns: [],
    cost: { currency: "USD", estimated_usd: 0, actual_usd: 0 },
    queue_position: null,
    eta_seconds: null,
    eta_basis: null,
    timeline: [],
  };
}

function fold(events: Omit<JobEvent, "id">[]): JobView {
  return events.reduce((view, event, index) => applyJobEvent(view, { ...event, id: index + 1 } as JobEvent), emptyJobView);
}

describe("the API, the tracker and the run page count the same attempts", () => {
  // Issue 17: a run held back by the recovering provider, then retried by hand and held again,
  // showed "2 attempts" (header, from jobs.attempts), "attempt 1 of 5" (notice) and "Automatic
  // retries 0 of 4" (run page). Every place now reads countAttempts.
  const moments: [string, Moment][] = [
    ["held back at its first try", { status: "pending_retry", runsStarted: 1, retryCount: 0, events: [queued, parkedBy("rate_limit", 0)] }],
    ["held back again after Retry now", { status: "pending_retry", runsStarted: 2, retryCount: 0, events: [queued, parkedBy("rate_limit", 0), retryRequested, parkedBy("rate_limit", 0)] }],
    ["parked after a failed attempt", { status: "pending_retry", runsStarted: 1, retryCount: 1, events: [queued, parkedBy("quota", 1)] }],
    ["running its second attempt (resumed by the sweep)", { status: "running", runsStarted: 2, retryCount: 1, events: [queued, parkedBy("quota", 1), running] }],
    ["running after Retry now (a fresh series)", { status: "running", runsStarted: 2, retryCount: 0, events: [queued, parkedBy("quota", 1), retryRequested, running] }],
  ];

  it.each(moments)("%s", (_name, moment) => {
    const details = snapshot(moment);
    const api = details.job.attempts;
    const tracker = viewAttempts(fold(moment.events), details);
    const page = viewAttempts(jobViewFromSnapshot(details), details);
    expect(tracker.made).toBe(api);
    expect(page.made).toBe(api);
    expect(tracker).toEqual(page);
    expect(tracker.limit).toBe(MAX);
  });

  it("the issue's held-back run counts no attempt and names its next one as the first", () => {
    const [, held] = moments[1]!;
    const details = snapshot(held);
    expect(details.job.attempts).toBe(0);
    expect(viewAttempts(fold(held.events), details)).toEqual({ made: 0, next: 1, limit: 5 });
  });
});
