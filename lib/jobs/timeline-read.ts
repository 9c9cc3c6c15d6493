import "server-only";
import type { WorkflowDriver } from "@/lib/engine/driver";
import type { QueueEstimates } from "@/lib/engine/queue-estimates";
import { queueStatusOf, type QueueStatus } from "@/lib/jobs/queue-status";
import { buildTimeline, type TimelineSegment } from "@/lib/jobs/timeline";
import type { JobRecord, Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

/** A job's state-changing events read for its timeline: far more than any run makes (each retry adds about four). */
const TIMELINE_EVENTS = 2000;

/** What the execution details add about time: the place in line and ETA, and the timeline. */
export async function jobTimeline(
  deps: { store: Store; driver: Pick<WorkflowDriver, "placeInLine">; estimates: QueueEstimates },
  job: JobRecord,
  workflow: Workflow | undefined,
): Promise<QueueStatus & { timeline: TimelineSegment[] }> {
  const [queue, events] = await Promise.all([queueStatusOf(deps, job, workflow), deps.store.readTimelineEvents(job.id, TIMELINE_EVENTS)]);
  const ended = job.status === "completed" || job.status === "failed" || job.status === "canceled";
  return { ...queue, timeline: buildTimeline(events, job.checkpoints, ended ? (job.completedAt ?? job.updatedAt) : null) };
}
