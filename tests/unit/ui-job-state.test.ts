import { describe, expect, it } from "vitest";
import type { ExecutionDetails } from "@/components/api/types";
import { applyJobEvent, emptyJobView, jobViewFromSnapshot, stepView, type JobEvent, type JobView } from "@/components/jobs/job-state";
import { mediaKind, mediaSrc, resultMedia, runAspect } from "@/components/jobs/media";

function fold(events: Omit<JobEvent, "id">[], from: JobView = emptyJobView): JobView {
  return events.reduce((view, event, index) => applyJobEvent(view, { ...event, id: from.lastEventId + index + 1 } as JobEvent), from);
}

const queued = { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } } as const;
const started = (step: number, progress: number) => ({ type: "progress", data: { step, step_name: `s${step}`, progress, step_progress: 0, message: `Step ${step}` } }) as const;
const done = (step: number, output: Record<string, unknown>) => ({ type: "checkpoint", data: { step, step_name: `s${step}`, status: "completed", output } }) as const;

describe("applyJobEvent", () => {
  it("follows a run from queued to completed", () => {
    let view = fold([queued]);
    expect(view.status).toBe("queued");
    view = fold([started(0, 0), done(0, { image_url: "/files/a.jpg" }), started(1, 33)], view);
    expect(view.status).toBe("running");
    expect(stepView(view, 0)).toMatchObject({ status: "completed", progress: 100, output: { image_url: "/files/a.jpg" } });
    expect(stepView(view, 1)).toMatchObject({ status: "running", progress: 0 });
    expect(stepView(view, 2).status).toBe("pending");
    view = fold(
      [
        { type: "progress", data: { step: 1, step_name: "s1", progress: 50, step_progress: 50 } },
        done(1, {}),
        started(2, 66),
        done(2, { video_url: "/files/v.mp4" }),
        { type: "complete", data: { result: { video_url: "/files/v.mp4" } } },
      ],
      view,
    );
    expect(view).toMatchObject({ status: "completed", progress: 100, result: { video_url: "/files/v.mp4" } });
    expect([0, 1, 2].map((index) => stepView(view, index).status)).toEqual(["completed", "completed", "completed"]);
  });

  it("shows a wait for approval with what to approve, and runs on once approved", () => {
    const awaiting = {
      type: "awaiting",
      data: { status: "awaiting_approval", awaiting: "approval", step: 2, step_name: "s2", output: { edited_image_url: "/files/e.png" }, since: "2030-01-01T00:00:00.000Z", until: "2030-01-02T00:00:00.000Z" },
    } as const;
    let view = fold([queued, started(0, 0), done(0, {}), started(1, 33), done(1, { edited_image_url: "/files/e.png" }), awaiting]);
    expect(view).toMatchObject({ status: "awaiting_approval", currentStep: 2, awaiting: { step: 2, since: "2030-01-01T00:00:00.000Z", until: "2030-01-02T00:00:00.000Z", output: { edited_image_url: "/files/e.png" } } });
    expect(stepView(view, 2).status).toBe("pending");
    view = fold([{ type: "progress", data: { step: 2, step_name: "s2", progress: 66, step_progress: 0, message: "Approved" } }], view);
    expect(view).toMatchObject({ status: "running", awaiting: null });
  });

  it("follows a step's candidates, waits for a pick with the candidates, and runs on once one is picked", () => {
    const candidate = (n: number, output: Record<string, unknown>) => ({ type: "checkpoint", data: { step: 1, step_name: "s1", status: "completed", output, candidate: n } }) as const;
    let view = fold([queued, started(0, 0), done(0, {}), { type: "progress", data: { step: 1, step_name: "s1", progress: 33, step_progress: 0, message: "S1 (candidate 2)", candidate: 2 } }]);
    expect(view).toMatchObject({ status: "running", candidates: { 1: { 2: { status: "running" } } } });
    view = fold([candidate(1, { image: "/files/c1.png" }), candidate(2, { image: "/files/c2.png" })], view);
    expect(view.candidates[1]).toMatchObject({ 1: { status: "completed", output: { image: "/files/c1.png" } }, 2: { status: "completed" } });
    // The step itself is not done until the pick.
    expect(stepView(view, 1).status).toBe("running");
    const candidates = [
      { candidate: 1, status: "completed", output: { image: "/files/c1.png" } },
      { candidate: 2, status: "completed", output: { image: "/files/c2.png" } },
    ] as const;
    view = fold([{ type: "awaiting", data: { status: "awaiting_input", awaiting: "pick", step: 1, step_name: "s1", candidates: [...candidates], since: "2030-01-01T00:00:00.000Z" } }], view);
    expect(view).toMatchObject({ status: "awaiting_input", currentStep: 1, picking: { step: 1, since: "2030-01-01T00:00:00.000Z", candidates }, awaiting: null });
    view = fold(
      [
        { type: "progress", data: { step: 1, step_name: "s1", progress: 66, step_progress: 100, message: "Candidate 2 picked" } },
        { type: "checkpoint", data: { step: 1, step_name: "s1", status: "completed", output: { image: "/files/c2.png" }, picked_candidate: 2, picked_by: "user" } },
      ],
      view,
    );
    expect(view).toMatchObject({ status: "running", picking: null });
    expect(stepView(view, 1)).toMatchObject({ status: "completed", output: { image: "/files/c2.png" } });
  });

  it("parks a step with the next retry time, and a retry runs it again", () => {
    const parked = fold([
      queued,
      started(0, 0),
      done(0, {}),
      started(1, 50),
      { type: "checkpoint", data: { step: 1, step_name: "s1", status: "failed_retryable", error: "503", error_class: "retryable", error_reason: "outage" } },
      {
        type: "retry_scheduled",
        data: { step: 1, step_name: "s1", reason: "outage", error: "503", next_retry_at: "2030-01-01T00:00:00.000Z", retry_count: 1, max_retries: 5 },
      },
    ]);
    expect(parked).toMatchObject({ status: "pending_retry", nextRetryAt: "2030-01-01T00:00:00.000Z", retryCount: 1, maxRetries: 5 });
    expect(stepView(parked, 1)).toMatchObject({ status: "parked", error: "503", reason: "outage" });

    const retried = fold([{ type: "progress", data: { step: 1, step_name: "s1", progress: 50, step_progress: 0, message: "Retry requested" } }], parked);
    expect(retried).toMatchObject({ status: "queued", nextRetryAt: null, error: null });
    expect(stepView(retried, 1)).toMatchObject({ status: "running", error: undefined, reason: undefined });
  });

  it("marks the failing step, or the running one when a cancel names none", () => {
    const failed = fold([queued, started(0, 0), { type: "error", data: { status: "failed", code: "content_rejected", error: "flagged", step: 0, step_name: "s0" } }]);
    expect(failed).toMatchObject({ status: "failed", error: "flagged", errorCode: "content_rejected" });
    expect(stepView(failed, 0)).toMatchObject({ status: "failed", error: "flagged" });

    const canceled = fold([queued, started(0, 0), done(0, {}), started(1, 33), { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } }]);
    expect(canceled.status).toBe("canceled");
    expect(stepView(canceled, 1).status).toBe("canceled");
    expect(stepView(canceled, 0).status).toBe("completed");
  });

  it("ignores events it has already folded in (a replay that overlaps)", () => {
    const view = fold([queued, started(0, 0), done(0, {})]);
    const replayed = applyJobEvent(view, { id: 2, ...started(0, 0) });
    expect(replayed).toBe(view);
  });
});

describe("jobViewFromSnapshot", () => {
  const details = (status: ExecutionDetails["job"]["status"], checkpoints: ExecutionDetails["checkpoints"], progress = 50): ExecutionDetails =>
    ({
      success: true,
      job: { status, progress, next_retry_at: status === "pending_retry" ? "2030-01-01T00:00:00.000Z" : null, result: null, error: null, error_code: null },
      execution: { current_step: 1, retry_count: 1, max_retries: 5 },
      checkpoints,
      steps: [
        { name: "a", type: "input", label: "A" },
        { name: "b", type: "generation", label: "B" },
      ],
    }) as unknown as ExecutionDetails;

  it("infers the running step's progress from the overall progress", () => {
    const view = jobViewFromSnapshot(details("running", { "0": { status: "completed", output: {} }, "1": { status: "running" } }, 75));
    expect(stepView(view, 0).status).toBe("completed");
    expect(stepView(view, 1)).toMatchObject({ status: "running", progress: 50 });
  });

  it("shows a failed_retryable checkpoint of a parked job as parked", () => {
    const view = jobViewFromSnapshot(details("pending_retry", { "0": { status: "completed" }, "1": { status: "failed_retryable", error: "quota", error_reason: "quota" } }));
    expect(stepView(view, 1)).toMatchObject({ status: "parked", error: "quota", reason: "quota" });
    expect(view.nextRetryAt).toBe("2030-01-01T00:00:00.000Z");
  });
});

describe("media", () => {
  it("fetches local-storage media same-origin, whatever host the URL names", () => {
    expect(mediaSrc("http://localhost:3000/files/jobs/x/2-video.mp4")).toBe("/files/jobs/x/2-video.mp4");
    expect(mediaSrc("https://res.cloudinary.com/demo/video/upload/v1/a.mp4")).toBe("https://res.cloudinary.com/demo/video/upload/v1/a.mp4");
  });

  it("tells images from videos and finds the result video", () => {
    expect(mediaKind("/files/a.PNG?x=1")).toBe("image");
    expect(mediaKind("/files/a.mp4")).toBe("video");
    expect(mediaKind("/files/a.json")).toBeNull();
    expect(resultMedia({ video_url: "/files/v.mp4", other: 3 })).toEqual({ key: "video_url", url: "/files/v.mp4", kind: "video" });
    // Product Shots' result is an image: lists and the result card show it as one.
    expect(resultMedia({ image_url: "/files/jobs/x/3-upscale.png" })).toEqual({ key: "image_url", url: "/files/jobs/x/3-upscale.png", kind: "image" });
    expect(resultMedia(null)).toBeNull();
    // A run's shape: the aspect ratio it asked for, else its upload's, else 4:3.
    expect(runAspect({ input_file: null, inputs: { aspect_ratio: "16:9" } })).toBeCloseTo(16 / 9);
    expect(runAspect({ input_file: { width: 300, height: 600 }, inputs: {} })).toBe(0.5);
    expect(runAspect({ input_file: null, inputs: {} })).toBeCloseTo(4 / 3);
  });
});

describe("place in line and ETA in the tracker", () => {
  it("follows the announced place while queued and drops it once a step runs", async () => {
    const { applyJobEvent, emptyJobView, queueText } = await import("@/components/jobs/job-state");
    let view = applyJobEvent(emptyJobView, { id: 1, type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } });
    expect([view.status, view.queuePosition, view.etaSeconds]).toEqual(["queued", null, null]);
    view = applyJobEvent(view, { id: 2, type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued", queue_position: 3, eta_seconds: 40, eta_basis: "recent_runs" } });
    expect(queueText(view.queuePosition, view.etaSeconds)).toBe("3rd in line · about 40 s");
    view = applyJobEvent(view, { id: 3, type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued", queue_position: 1, eta_seconds: 20 } });
    expect(queueText(view.queuePosition, view.etaSeconds)).toBe("1st in line · about 20 s");
    view = applyJobEvent(view, { id: 4, type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Upload image" } });
    expect([view.status, view.queuePosition, view.etaSeconds]).toEqual(["running", null, null]);
  });

  it("says places and ETAs as people read them", async () => {
    const { formatEta, ordinal, queueText } = await import("@/components/jobs/job-state");
    expect([1, 2, 3, 4, 11, 12, 13, 21, 22, 101, 111].map(ordinal)).toEqual(["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st", "111th"]);
    expect([0.2, 40, 59.4, 90, 3599, 3900].map(formatEta)).toEqual(["about 1 s", "about 40 s", "about 59 s", "about 2 min", "about 1 h", "about 1 h 5 min"]);
    expect(queueText(2, null)).toBe("2nd in line");
    expect(queueText(null, null)).toBeNull();
  });
});
