import "server-only";
import { InProcessRunner, type InProcessRunnerOptions } from "@/lib/engine/in-process-runner";

/**
 * How executions get run. The HTTP API and the sweep only ever call this interface; which driver
 * runs behind it is decided once, by the composition root (lib/server/runtime.ts): the in-process
 * runner here, or the Inngest driver (lib/inngest/driver.ts).
 */
export interface WorkflowDriver {
  readonly name: "in-process" | "inngest";
  start(): Promise<void>;
  /** Starts (or resumes) a queued job. `userId`, whose job it is when the caller knows, spares the in-process runner a read. */
  enqueue(jobId: string, userId?: string): Promise<void>;
  /** Resumes a job a person approved (it is running with no lease): in-process it is queued here; under Inngest its waiting run is woken. */
  resumeApproved(jobId: string, stepIndex: number): Promise<void>;
  /**
   * A queued job's place among the jobs waiting for this runner (1 = next), when the driver knows
   * its line: the in-process runner's own order. Undefined under Inngest, and for a job not waiting here.
   */
  placeInLine?(jobId: string): number | undefined;
  /** Resumes a job whose step's candidate a person picked (running with no lease), as resumeApproved does. */
  resumePicked(jobId: string, stepIndex: number, candidate: number): Promise<void>;
  /** Interrupts a job's running step after the job was marked canceled. */
  interrupt(jobId: string): Promise<void>;
  stop(): Promise<void>;
}

export function createInProcessDriver(options: InProcessRunnerOptions): WorkflowDriver & { runner: InProcessRunner } {
  const runner = new InProcessRunner(options);
  return {
    name: "in-process",
    runner,
    start: () => runner.start(),
    enqueue: async (jobId, userId) => runner.enqueue(jobId, userId),
    resumeApproved: async (jobId) => runner.enqueue(jobId),
    placeInLine: (jobId) => runner.placeInLine(jobId),
    resumePicked: async (jobId) => runner.enqueue(jobId),
    interrupt: async (jobId) => runner.cancel(jobId),
    stop: () => runner.stop(),
  };
}
