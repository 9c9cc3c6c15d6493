import "server-only";
import type { JobEventInput } from "@/lib/contract/events";
import type { Fence } from "@/lib/store/run-types";

/**
 * A guarded write of one job, described as data: which state it requires (the job's status, the
 * lease's fence), what it sets on the job and its execution, the checkpoint it upserts and the
 * events it appends. Each store renders a plan as prepared SQL for its database (one transaction
 * on SQLite, one statement on PostgreSQL) and applies all of it or nothing. Every write the engine,
 * the sweep and a person's actions make is one of the plans built in lib/store/plans.ts and
 * lib/store/action-plans.ts, so each is written once.
 */
export interface WritePlan {
  jobId: string;
  /** The job must have one of these statuses. */
  statusIn: readonly string[];
  /** The execution's lease must be this one (owner and epoch). */
  fence?: Fence;
  /** A queued job must have this attempt count (a stale run must not start a newer attempt). */
  queuedAttempts?: number;
  /** The execution must be at this step (a pick names the step it answers). */
  currentStep?: number;
  /** The job's wait must end at exactly this time (an approval timeout names the wait it ends). */
  awaitingUntil?: Date;
  job?: ColumnValues<JobColumn>;
  execution?: ColumnValues<ExecutionColumn>;
  checkpoints?: CheckpointWrite[];
  events: JobEventInput[];
}

/** What the plan's job looked like when the write applied. */
export interface AppliedPlan {
  userId: string;
  attempts: number;
}

/** A column's new value; INCREMENT adds one. */
export const INCREMENT = Symbol("increment");
export type ColumnValue = string | number | Date | null | JsonValue | typeof INCREMENT;
export type ColumnValues<C extends string> = Partial<Record<C, ColumnValue>>;
export type JsonValue = { json: unknown };
export const json = (value: unknown): JsonValue => ({ json: value });

export type ColumnType = "text" | "int" | "timestamp" | "json";

/** The columns a plan sets, in the order written, without those left undefined: what both renderers walk. */
export function setColumns<C extends string>(values: ColumnValues<C>): [C, ColumnValue][] {
  return (Object.entries(values) as [C, ColumnValue | undefined][]).filter((entry): entry is [C, ColumnValue] => entry[1] !== undefined);
}

/** The columns plans may set, with their SQL types (PostgreSQL casts; SQLite conversions). */
export const JOB_COLUMNS = {
  status: "text",
  progress: "int",
  attempts: "int",
  next_retry_at: "timestamp",
  result: "json",
  error: "text",
  error_code: "text",
  completed_at: "timestamp",
  approved_step: "int",
  awaiting_since: "timestamp",
  awaiting_until: "timestamp",
  deadline_at: "timestamp",
} as const satisfies Record<string, ColumnType>;
export type JobColumn = keyof typeof JOB_COLUMNS;

export const EXECUTION_COLUMNS = {
  current_step: "int",
  retry_count: "int",
  last_error: "text",
  last_error_class: "text",
  last_error_reason: "text",
  last_error_provider: "text",
  lease_owner: "text",
  lease_expires_at: "timestamp",
} as const satisfies Record<string, ColumnType>;
export type ExecutionColumn = keyof typeof EXECUTION_COLUMNS;

export const CHECKPOINT_COLUMNS = {
  status: "text",
  output: "json",
  error: "text",
  error_class: "text",
  error_reason: "text",
  state: "json",
  attempt: "int",
  started_at: "timestamp",
  completed_at: "timestamp",
  cost_micro_usd: "int",
  provider_ms: "int",
} as const satisfies Record<string, ColumnType>;
export type CheckpointColumn = keyof typeof CHECKPOINT_COLUMNS;

/** An upsert of one checkpoint row: `values` on insert; on conflict only the columns in `values` change. */
export interface CheckpointWrite {
  stepIndex: number;
  candidate: number;
  values: ColumnValues<CheckpointColumn> & { status: string };
}

/** A plan's execution columns that let go of the lease. */
export const RELEASE_LEASE = { lease_owner: null, lease_expires_at: null } as const;
