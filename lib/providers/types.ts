import "server-only";
/**
 * Provider interfaces. Workflow code talks only to these; the local (embedded default),
 * Cloudinary and Replicate implementations live beside this file and are chosen in `./index.ts`.
 *
 * Providers report failures with the engine's typed errors (`RetryableError`, `HardError` from
 * `lib/workflows/errors`), always naming themselves in `provider` so the health gate knows whom to probe.
 */

export type ResourceType = "image" | "video";

export interface StoredMedia {
  /** The URL Montage hands out (results, checkpoints). Never a provider's expiring URL. */
  url: string;
  /** Storage-internal key, e.g. "jobs/<jobId>/1-image_edit.png". */
  key: string;
  contentType: string;
  bytes: number;
}

export interface PutMediaRequest {
  /** Deterministic per job and step, so a retried upload overwrites instead of duplicating. */
  key: string;
  body: Buffer;
  contentType: string;
  resourceType: ResourceType;
  signal?: AbortSignal;
}

export interface HealthStatus {
  healthy: boolean;
  /** Why not, in words fit for logs (never a secret). */
  detail?: string;
}

export interface StorageProvider {
  readonly name: string;
  put(request: PutMediaRequest): Promise<StoredMedia>;
  /** Reads back media this storage handed out (by its URL); used by local models and downloads. */
  read(url: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType: string }>;
  checkHealth(): Promise<HealthStatus>;
}

/** Durable scratch state of one step, kept in its checkpoint (e.g. a prediction id). */
export interface StepState {
  get(): Record<string, unknown> | undefined;
  save(state: Record<string, unknown>): Promise<void>;
}

export interface ModelRunRequest {
  /** Model id from the workflow's config.json, e.g. "google/nano-banana". */
  model: string;
  /** Inputs in the model's own vocabulary (Replicate's schema), e.g. {prompt, image_input: [url]}. */
  input: Record<string, unknown>;
  jobId: string;
  stepIndex: number;
  /** The step's candidate (1..n) this run makes, when the step runs as candidates; local models vary their output by it. */
  candidate?: number;
  signal: AbortSignal;
  /** 0..100 within the step. */
  onProgress(percent: number, message?: string): Promise<void>;
  state: StepState;
  /**
   * When the step must have ended (its timeout or the run's deadline; set by the engine). The
   * signal aborts then in any case; a provider that can be told stops its own work by it too.
   */
  deadlineAt?: Date;
}

export interface ModelOutput {
  body: Buffer;
  contentType: string;
  /** What the provider reported about the run, for its cost (lib/workflows/pricing.ts) and the run's timeline. */
  usage?: ModelUsage;
}

export interface ModelUsage {
  provider: string;
  /** Nothing to pay (local models). */
  free: boolean;
  /** Seconds the provider's hardware ran the model (Replicate's `metrics.predict_time`). */
  computeSeconds?: number;
  /** Files the run produced. */
  outputs?: number;
  /** Length of the produced video, when it is one. */
  outputSeconds?: number;
}

export interface ModelProvider {
  readonly name: string;
  run(request: ModelRunRequest): Promise<ModelOutput>;
  checkHealth(): Promise<HealthStatus>;
}

export interface Providers {
  storage: StorageProvider;
  models: ModelProvider;
}
