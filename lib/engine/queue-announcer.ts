import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { JobNotifier } from "@/lib/engine/notifier";
import type { QueueEstimates } from "@/lib/engine/queue-estimates";
import type { Logger } from "@/lib/log";
import type { Store, WaitingJob } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";

/** Places past this are not announced (each change of place is an event per waiting job): they are, once the line moves up to them. */
export const ANNOUNCED_PLACES = 100;

export interface QueueAnnouncerDeps {
  store: Store;
  notifier: JobNotifier;
  estimates: QueueEstimates;
  findWorkflow(id: string): Workflow | undefined;
  logger: Logger;
  /** The jobs waiting for this runner, next first (InProcessRunner.waiting). */
  waiting(): string[];
}

/**
 * Tells each job waiting in the in-process runner's line its place and ETA: a `progress` event
 * ("Queued", with queue_position, eta_seconds and eta_basis) whenever its place changed. The
 * runner calls schedule() when its line changes; passes run one at a time, and changes that come
 * during a pass are announced by one more pass, so a burst of arrivals costs one pass.
 */
export class QueueAnnouncer {
  /** The place last announced for each waiting job. */
  private readonly announced = new Map<string, number>();
  /** The waiting jobs' rows, read once: what an announcement names (workflow, step, progress) does not change while a job waits. */
  private readonly jobs = new Map<string, WaitingJob | null>();
  private passing = false;
  private again = false;

  constructor(private readonly deps: QueueAnnouncerDeps) {}

  schedule(): void {
    if (this.passing) {
      this.again = true;
      return;
    }
    this.passing = true;
    setImmediate(() => void this.run());
  }

  private async run(): Promise<void> {
    do {
      this.again = false;
      try {
        await this.pass();
      } catch (error) {
        // A place not announced now is announced by the next change of the line; the details answer it meanwhile.
        this.deps.logger.warn("could not announce places in line", { err: error });
      }
    } while (this.again);
    this.passing = false;
  }

  private async pass(): Promise<void> {
    const line = this.deps.waiting();
    const waiting = new Set(line);
    const places = new Map(line.slice(0, ANNOUNCED_PLACES).map((jobId, index) => [jobId, index + 1]));
    for (const jobId of [...this.announced.keys()]) if (!waiting.has(jobId)) this.announced.delete(jobId);
    for (const jobId of [...this.jobs.keys()]) if (!waiting.has(jobId)) this.jobs.delete(jobId);
    const changed = [...places].filter(([jobId, place]) => this.announced.get(jobId) !== place);
    if (changed.length === 0) return;
    const unread = changed.map(([jobId]) => jobId).filter((jobId) => !this.jobs.has(jobId));
    if (unread.length > 0) {
      const rows = await this.deps.store.readWaitingJobs(unread);
      for (const jobId of unread) this.jobs.set(jobId, rows.find((row) => row.id === jobId) ?? null);
    }
    const announcements: { jobId: string; event: JobEventInput }[] = [];
    for (const [jobId, place] of changed) {
      this.announced.set(jobId, place);
      const job = this.jobs.get(jobId);
      // Only a queued job has a place to announce (an approved job waiting to resume is running).
      if (!job || job.status !== "queued") continue;
      const workflow = this.deps.findWorkflow(job.workflowId);
      const step = workflow?.config.steps[job.currentStep];
      if (!workflow || !step) continue;
      const eta = await this.deps.estimates.queued(workflow, job.currentStep, place);
      announcements.push({
        jobId,
        event: {
          type: "progress",
          data: { step: job.currentStep, step_name: step.name, progress: job.progress, step_progress: 0, message: "Queued", queue_position: place, eta_seconds: eta.seconds, eta_basis: eta.basis },
        },
      });
    }
    const written = await this.deps.store.announceQueued(announcements);
    announcements.forEach(({ jobId }, index) => {
      if (written[index]) this.deps.notifier.notify(jobId);
      // Started or canceled meanwhile: it leaves the line soon; nothing more is announced to it.
      else this.jobs.set(jobId, { ...this.jobs.get(jobId)!, status: "gone" });
    });
  }
}
