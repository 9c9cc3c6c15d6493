import { describe, expect, it } from "vitest";
import { buildTimeline } from "@/lib/jobs/timeline";
import type { CheckpointRow, TimelineEvent } from "@/lib/store/types";

const t = (seconds: number) => new Date(Date.UTC(2026, 11, 2, 9, 0, seconds));
const iso = (seconds: number) => t(seconds).toISOString();

let id = 0;
const event = (seconds: number, type: string, data: Record<string, unknown>): TimelineEvent => ({ id: ++id, type, data, at: t(seconds) });
const progress = (seconds: number, step: number, message?: string) => event(seconds, "progress", { step, step_name: `s${step}`, progress: 0, step_progress: 0, ...(message && { message }) });
const checkpoint = (seconds: number, step: number, status: string, extra: Record<string, unknown> = {}) => event(seconds, "checkpoint", { step, step_name: `s${step}`, status, ...extra });

function completed(stepIndex: number, startedAt: number, completedAt: number, providerMs: number | null): CheckpointRow {
  return {
    stepIndex,
    candidate: 0,
    status: "completed",
    output: {},
    error: null,
    errorClass: null,
    errorReason: null,
    state: null,
    attempt: 1,
    startedAt: t(startedAt),
    completedAt: t(completedAt),
    costMicroUsd: null,
    providerMs,
  };
}

describe("the timeline of a run", () => {
  it("shows the wait in line, each step's run, a park with its reason, the wait after it, and the provider's own time", () => {
    const events = [
      progress(0, 0, "Queued"),
      // Announced places while waiting do not start a new segment.
      event(2, "progress", { step: 0, step_name: "s0", progress: 0, step_progress: 0, message: "Queued", queue_position: 1, eta_seconds: 20 }),
      progress(5, 0, "Upload"),
      checkpoint(6, 0, "completed"),
      progress(6, 1, "Edit"),
      checkpoint(10, 1, "failed_retryable", { error_reason: "outage" }),
      event(10, "retry_scheduled", { step: 1, step_name: "s1", reason: "outage", next_retry_at: iso(40) }),
      event(41, "progress", { step: 1, step_name: "s1", progress: 33, step_progress: 0, message: "Queued", queue_position: 2 }),
      progress(45, 1, "Edit"),
      checkpoint(55, 1, "completed"),
      event(55, "complete", { result: {} }),
    ];
    const timeline = buildTimeline(events, [completed(0, 5, 6, null), completed(1, 45, 55, 8000)], t(55));
    expect(timeline).toEqual([
      { step: 0, kind: "queued", started_at: iso(0), ended_at: iso(5) },
      { step: 0, kind: "running", started_at: iso(5), ended_at: iso(6) },
      { step: 1, kind: "running", started_at: iso(6), ended_at: iso(10) },
      { step: 1, kind: "parked", started_at: iso(10), ended_at: iso(41), reason: "outage" },
      { step: 1, kind: "queued", started_at: iso(41), ended_at: iso(45) },
      { step: 1, kind: "running", started_at: iso(45), ended_at: iso(55) },
      { step: 1, kind: "provider", started_at: iso(47), ended_at: iso(55) },
    ]);
  });

  it("parks a wait for approval, leaves a rerun's copied steps out, and keeps an active job's last segment open", () => {
    const events = [
      checkpoint(0, 0, "completed"),
      progress(0, 1, "Queued"),
      progress(3, 1, "Edit"),
      checkpoint(7, 1, "completed"),
      event(7, "awaiting", { status: "awaiting_approval", awaiting: "approval", step: 2, step_name: "s2", output: {}, since: iso(7), until: iso(99) }),
      event(30, "progress", { step: 2, step_name: "s2", progress: 66, step_progress: 0, message: "Approved: looks good" }),
      progress(31, 2, "Video"),
    ];
    // The provider reported more time than the step ran here (it resumed a prediction): drawn from the run's start.
    expect(buildTimeline(events, [completed(1, 3, 7, 60_000)], null)).toEqual([
      { step: 1, kind: "queued", started_at: iso(0), ended_at: iso(3) },
      { step: 1, kind: "running", started_at: iso(3), ended_at: iso(7) },
      { step: 1, kind: "provider", started_at: iso(3), ended_at: iso(7) },
      { step: 2, kind: "parked", started_at: iso(7), ended_at: iso(30), reason: "awaiting_approval" },
      { step: 2, kind: "queued", started_at: iso(30), ended_at: iso(31) },
      { step: 2, kind: "running", started_at: iso(31), ended_at: null },
    ]);
  });

  it("ends at a cancel in line, and closes what was open when the job ended without an event for it", () => {
    expect(buildTimeline([progress(0, 0, "Queued"), event(4, "error", { status: "canceled", code: "canceled", error: "Canceled by user" })], [], t(4))).toEqual([
      { step: 0, kind: "queued", started_at: iso(0), ended_at: iso(4) },
    ]);
    expect(buildTimeline([progress(0, 0, "Queued"), progress(1, 0, "Upload")], [], t(9))).toEqual([
      { step: 0, kind: "queued", started_at: iso(0), ended_at: iso(1) },
      { step: 0, kind: "running", started_at: iso(1), ended_at: iso(9) },
    ]);
  });
});
