import "server-only";
import type { Logger } from "@/lib/log";
import type { Providers, StepState } from "@/lib/providers/types";
import type { StepConfig } from "@/lib/workflows/definition";

/** What a step handler gets. Handlers return their output; they never write the database. */
export interface StepContext {
  jobId: string;
  userId: string;
  stepIndex: number;
  /** Which candidate of the step this run is (1..n), 0 when the step runs once. Outputs of candidates must not overwrite each other. */
  candidate: number;
  step: StepConfig;
  /** The previous step's output ({} for the first step). */
  previous: Record<string, unknown>;
  /** The job's declared inputs, defaults applied. */
  inputs: Record<string, string>;
  /** Reports progress within this step, 0..100. Throttled; cheap to call often. */
  progress(percent: number, message?: string): Promise<void>;
  /** Aborted when the job is canceled or the process shuts down. */
  signal: AbortSignal;
  /** Durable scratch state kept in this step's checkpoint (e.g. a prediction id). */
  state: StepState;
  providers: Providers;
  /** The file the job was started with: the `file` field, or the workflow's first image input. */
  readUpload(): Promise<{ body: Buffer; contentType: string; filename: string }>;
  /**
   * The image sent for the image input of this name (the first one is readUpload()'s, any further
   * one an extra upload); null when an optional image was not sent.
   */
  readInputImage(name: string): Promise<{ body: Buffer; contentType: string; filename: string } | null>;
  log: Logger;
}
