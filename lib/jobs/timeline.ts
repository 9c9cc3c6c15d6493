import type { CheckpointRow, TimelineEvent } from "@/lib/store/types";

/**
 * Where a run's time went, on one axis (issue 14 part 6): for each step, the time it waited in
 * line, the time it was parked (a retry scheduled after a provider's failure, or a wait for a
 * person's approval) with the reason, the time it ran, and, inside a run, the provider's own time
 * where the provider reports one.
 *
 * Derived, not stored: the job's event log already marks every change of state with the time it
 * was written (lib/store: readTimelineEvents, which leaves out the progress reports within a step):
 *   "Queued", "Retry requested" and "Approved" progress events  the job waits for a runner
 *   any other progress event at 0 %                            a step starts running
 *   a checkpoint event                                          the step's run ends (failed_retryable: it parks)
 *   retry_scheduled, awaiting                                   it parks, with its reason
 *   complete, error                                             the job ends
 * A parked job that the sweep puts back in line has its place announced (a "Queued" event) when it
 * waits there; else it ran at once, and its park ends when its step starts.
 * The provider reports how long its prediction ran (Replicate's metrics.predict_time, recorded on
 * the checkpoint as provider_ms), not when: that span is drawn at the end of the step's run.
 */

export type SegmentKind = "queued" | "running" | "parked" | "provider";

export interface TimelineSegment {
  step: number;
  kind: SegmentKind;
  started_at: string;
  /** Null while the segment goes on. */
  ended_at: string | null;
  /** Why a step is parked: the provider's failure (outage, quota, rate_limit, timeout, ...) or awaiting_approval. */
  reason?: string;
}

const WAITING_MESSAGES = ["Queued", "Retry requested"];

const textOr = (value: unknown, fallback: string): string => (typeof value === "string" ? value : fallback);

function waitsForRunner(message: unknown): boolean {
  return typeof message === "string" && (WAITING_MESSAGES.includes(message) || message === "Approved" || message.startsWith("Approved: "));
}

interface Open {
  kind: Exclude<SegmentKind, "provider">;
  step: number;
  started: Date;
  reason?: string;
}

/**
 * The timeline of a job from its state-changing events, oldest first, and its checkpoints. `endedAt`
 * closes a segment still open when the job has ended (its completed_at); an active job's last
 * segment stays open (ended_at null).
 */
export function buildTimeline(events: readonly TimelineEvent[], checkpoints: readonly CheckpointRow[], endedAt: Date | null): TimelineSegment[] {
  const segments: TimelineSegment[] = [];
  let open: Open | undefined;
  const close = (at: Date) => {
    if (open) segments.push({ step: open.step, kind: open.kind, started_at: open.started.toISOString(), ended_at: at.toISOString(), ...(open.reason !== undefined && { reason: open.reason }) });
    open = undefined;
  };
  const begin = (at: Date, next: Omit<Open, "started">) => {
    close(at);
    open = { ...next, started: at };
  };
  for (const event of events) {
    const step = typeof event.data.step === "number" ? event.data.step : (open?.step ?? 0);
    switch (event.type) {
      case "progress":
        if (waitsForRunner(event.data.message)) {
          if (open?.kind !== "queued") begin(event.at, { kind: "queued", step });
        } else if (!(open?.kind === "running" && open.step === step)) {
          begin(event.at, { kind: "running", step });
        }
        break;
      case "checkpoint": {
        // A rerun's copied steps come as checkpoint events with nothing running: they took no time here.
        if (open?.kind !== "running" || open.step !== step) break;
        if (event.data.status === "failed_retryable") begin(event.at, { kind: "parked", step, reason: textOr(event.data.error_reason, "retry") });
        else close(event.at);
        break;
      }
      case "retry_scheduled":
        if (open?.kind !== "parked") begin(event.at, { kind: "parked", step, reason: textOr(event.data.reason, "retry") });
        break;
      case "awaiting":
        begin(event.at, { kind: "parked", step, reason: "awaiting_approval" });
        break;
      case "complete":
      case "error":
        close(event.at);
        break;
    }
  }
  if (open) {
    if (endedAt) close(endedAt);
    else segments.push({ step: open.step, kind: open.kind, started_at: open.started.toISOString(), ended_at: null, ...(open.reason !== undefined && { reason: open.reason }) });
  }
  return withProviderTime(segments, checkpoints);
}

/** The provider's own time of each completed step, at the end of the step's last run and never before its start. */
function withProviderTime(segments: TimelineSegment[], checkpoints: readonly CheckpointRow[]): TimelineSegment[] {
  const provider: TimelineSegment[] = [];
  for (const checkpoint of checkpoints) {
    if (checkpoint.providerMs === null || checkpoint.completedAt === null || checkpoint.status !== "completed") continue;
    const run = segments.findLast((segment) => segment.kind === "running" && segment.step === checkpoint.stepIndex);
    if (!run) continue;
    const end = checkpoint.completedAt.getTime();
    const start = Math.max(new Date(run.started_at).getTime(), end - checkpoint.providerMs);
    provider.push({ step: checkpoint.stepIndex, kind: "provider", started_at: new Date(start).toISOString(), ended_at: checkpoint.completedAt.toISOString() });
  }
  // Each provider span right after the run it belongs to.
  return segments.flatMap((segment) => {
    if (segment.kind !== "running") return [segment];
    const last = segments.findLast((other) => other.kind === "running" && other.step === segment.step) === segment;
    return last ? [segment, ...provider.filter((span) => span.step === segment.step)] : [segment];
  });
}
