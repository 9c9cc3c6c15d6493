import "server-only";
import { queuedEtaSeconds, RECENT_RUNS, remainingRun, stepEstimates, type Eta, type StepEstimate } from "@/lib/engine/queue-eta";
import type { Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

/** How long a workflow's step medians are reused before they are read again. */
const CACHE_MS = 10_000;

/**
 * ETAs from the durations of recent runs (lib/engine/queue-eta.ts has the arithmetic). The
 * medians of a workflow's steps are read from the store at most once per CACHE_MS, so a page of
 * queued jobs, or a re-announcement of every place in line, costs one read per workflow.
 * One per runtime (lib/server/runtime.ts).
 */
export class QueueEstimates {
  private readonly cache = new Map<string, { at: number; estimates: Promise<StepEstimate[]> }>();

  constructor(private readonly deps: { store: Store; concurrency: number; now?: () => number }) {}

  private now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  /** Each step's expected seconds (the median of its last RECENT_RUNS runs, else its type's default). */
  estimates(workflow: Workflow): Promise<StepEstimate[]> {
    const key = `${workflow.config.id}\u0000${workflow.version}`;
    const cached = this.cache.get(key);
    if (cached && this.now() - cached.at < CACHE_MS) return cached.estimates;
    const estimates = this.deps.store.readStepDurations(workflow.config.id, RECENT_RUNS).then((durations) => stepEstimates(workflow.config.steps, durations));
    // A failed read is not kept: the next caller reads again.
    estimates.catch(() => this.cache.delete(key));
    this.cache.set(key, { at: this.now(), estimates });
    return estimates;
  }

  /** A waiting job's ETA: the runs ahead of its place, `concurrency` at a time, then its own remaining steps. */
  async queued(workflow: Workflow, fromStep: number, place: number): Promise<Eta> {
    const run = remainingRun(await this.estimates(workflow), fromStep);
    return { seconds: queuedEtaSeconds(place, this.deps.concurrency, run.seconds), basis: run.basis };
  }

  /** A running job's ETA: what its current step has left of its median, then the remaining steps' medians. */
  async running(workflow: Workflow, step: number, stepStartedAt: Date | null): Promise<Eta> {
    const elapsed = stepStartedAt ? Math.max(0, this.now() - stepStartedAt.getTime()) : 0;
    return remainingRun(await this.estimates(workflow), step, elapsed);
  }
}
