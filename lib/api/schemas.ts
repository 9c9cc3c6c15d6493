import "server-only";
import { z } from "zod";
import { JOB_STATUSES } from "@/lib/contract/events";
import { ERROR_STATUS } from "@/lib/api/errors";
import { stepModelChoiceSchema, workflowInputSchema, workflowUploadSchema } from "@/lib/api/input-schemas";

export * from "@/lib/api/action-schemas";
export * from "@/lib/api/usage-schemas";

/**
 * One zod schema per API input and output: it validates, gives the type, and feeds the OpenAPI
 * document (lib/api/openapi.ts).
 */

export const jobIdSchema = z.uuid({ message: "job_id must be a UUID" });

export const executeFormSchema = z
  .object({
    workflow_id: z.string().min(1, "workflow_id is required").max(64),
    file: z.string().optional().meta({ format: "binary", description: "A JPEG, PNG or WebP image, for workflows that take one (see `upload` in GET /workflows/list; a workflow whose image input has another name takes it in that field)" }),
    webhook_url: z
      .string()
      .max(2048)
      .optional()
      .meta({ description: "An https URL on a public address: the run's events are delivered there, signed (Standard Webhooks), at least once, in order" }),
    webhook_events: z
      .string()
      .optional()
      .meta({ description: "Comma-separated stream event names to deliver: progress, checkpoint, retry_scheduled, complete, error (default complete,error)" }),
    deadline_seconds: z
      .string()
      .regex(/^\d{1,7}$/)
      .optional()
      .meta({ description: "The whole run must end within this many seconds (1 to 604800): the running provider call is canceled then, and the job fails with deadline_exceeded" }),
  })
  .catchall(z.string().meta({ description: "Values for the inputs the workflow declares, e.g. edit_prompt; models[<step>]=<owner/name> chooses a step's model; approve_before=<step name> (repeatable) stops the job before that step until approved" }));

export const listJobsQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(100).default(20),
  /** The id of the last job of the previous page. */
  cursor: z.uuid().optional(),
  status: z.enum(JOB_STATUSES).optional(),
});

export const errorBodySchema = z
  .object({
    success: z.literal(false),
    error: z.object({ code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]), message: z.string() }),
  })
  .meta({ id: "Error" });

export const costBasisSchema = z.enum(["priced", "local", "no_model", "unpriced"]).meta({
  description:
    "priced: the step's pricing in config.json applied. local: the models run locally and cost nothing. no_model: the step runs no model. unpriced: a paid model without pricing, cost unknown.",
});

export const estimateSchema = z
  .object({
    total_usd: z.number().meta({ description: "The sum of the steps whose cost is known." }),
    currency: z.literal("USD"),
    complete: z.boolean().meta({ description: "False when a step's cost is unknown: the total is a lower bound." }),
    candidates: z.number().int(),
    note: z.string().nullable().meta({ description: "Set when nothing is charged because the models run locally." }),
    steps: z.array(
      z.object({
        step: z.number().int(),
        step_name: z.string(),
        basis: costBasisSchema,
        estimated_usd: z.number().nullable(),
        candidates: z.number().int().meta({ description: "How many candidates of the step the estimate counts (each a separate paid run)." }),
      }),
    ),
  })
  .meta({ id: "CostEstimate" });

export const estimateRequestSchema = z
  .object({
    workflow_id: z.string().min(1).max(64),
    candidates: z.string().optional().meta({ description: "Candidates per model step, 1 to 8 (default 1); each is a separate paid run. Per step instead: candidates[<step name>]=1..4 (JSON: {\"candidates\": {\"image_edit\": 3}}), config.json's defaults applied." }),
  })
  .catchall(z.string().meta({ description: "Values for the inputs the workflow declares, as for execute (models[<step>] too; in JSON, {\"models\": {...}}). No file is needed." }));

export const estimateResponseSchema = z.object({ success: z.literal(true), workflow_id: z.string(), estimate: estimateSchema });

export const workflowSchema = z
  .object({
    id: z.string(),
    /** A hash of the workflow's config.json and code; jobs record the version they started with. */
    version: z.string(),
    name: z.string(),
    description: z.string(),
    icon: z.string(),
    steps: z.array(
      z.object({
        name: z.string(),
        type: z.string(),
        label: z.string(),
        model: z.string().optional(),
        approval: z.boolean().optional(),
        models: z.array(stepModelChoiceSchema).optional(),
        candidates: z
          .object({ default: z.number().int(), max: z.number().int() })
          .optional()
          .meta({ description: "Present when the step can run as candidates (candidates[<step name>]=1..max at execute): how many it runs by default" }),
      }),
    ),
    inputs: z.array(workflowInputSchema),
    upload: workflowUploadSchema,
    accepts: z.object({ content_types: z.array(z.string()), max_bytes: z.number(), max_pixels: z.number() }),
    estimate: estimateSchema.meta({ description: "What a run with the default inputs is expected to cost." }),
  })
  .meta({ id: "Workflow" });

export const listWorkflowsResponseSchema = z.object({ success: z.literal(true), workflows: z.array(workflowSchema) });

export const executeResponseSchema = z.object({
  success: z.literal(true),
  job_id: z.uuid(),
  stream_url: z.string(),
  estimated_cost_usd: z.number().meta({ description: "What the run is expected to cost, in USD (0 when the models run locally)." }),
});

const candidateCheckpointSchema = z.object({
  candidate: z.number().int(),
  status: z.enum(["running", "completed", "failed_retryable", "failed", "canceled"]),
  output: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  error_class: z.enum(["retryable", "hard"]).optional(),
  error_reason: z.string().optional(),
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
});

const checkpointSchema = z.object({
  status: z.enum(["running", "completed", "failed_retryable", "failed", "canceled"]),
  candidates: z.array(candidateCheckpointSchema).optional().meta({ description: "A step run as candidates: each one (numbered from 1); the step's own output is the one picked" }),
  picked_candidate: z.number().int().optional(),
  output: z.record(z.string(), z.unknown()).optional(),
  error: z.string().optional(),
  error_class: z.enum(["retryable", "hard"]).optional(),
  error_reason: z.string().optional(),
  state: z.record(z.string(), z.unknown()).optional(),
  started_at: z.string().optional(),
  completed_at: z.string().optional(),
});

export const jobSchema = z
  .object({
    id: z.uuid(),
    workflow_id: z.string(),
    /** The workflow's version the job started with; null for jobs from before versions were recorded. */
    workflow_version: z.string().nullable(),
    status: z.enum(JOB_STATUSES),
    progress: z.number(),
    inputs: z.record(z.string(), z.string()),
    result: z.record(z.string(), z.unknown()).nullable(),
    error: z.string().nullable(),
    error_code: z.string().nullable(),
    attempts: z.number().meta({
      description:
        "Attempts made in the current series (tries that reached the provider; a manual retry starts a new series), the one in progress included. See docs/api.md, Attempts.",
    }),
    next_retry_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
    completed_at: z.string().nullable(),
    input_file: z.object({ filename: z.string(), content_type: z.string(), size: z.number(), width: z.number(), height: z.number() }).nullable(),
    parent_job_id: z.uuid().nullable().meta({ description: "The job this one reruns (POST /workflows/rerun); null for a job started by execute." }),
    rerun_from_step: z.number().nullable().meta({ description: "The step index this rerun ran from; the steps before it were copied from the parent." }),
    approval_steps: z.array(z.number()).meta({ description: "Step indexes the job stops before until a person approves them (POST /workflows/approve)." }),
    awaiting: z
      .object({ kind: z.enum(["approval", "pick"]), since: z.string(), until: z.string().nullable() })
      .nullable()
      .meta({
        description:
          "While awaiting_approval (kind approval) or awaiting_input (kind pick): what the job waits for (the step is execution.current_step), since when, and when it fails with approval_timeout (null for a pick: it waits until picked or canceled).",
      }),
    candidates: z
      .object({
        steps: z.record(z.string(), z.number().int()).meta({ description: "Steps that run as several candidates, by step index (as in checkpoints): how many" }),
        auto_pick: z.boolean().meta({ description: "The first candidate that succeeded is picked without asking" }),
      })
      .meta({ description: "The job's candidates (POST /workflows/pick); steps is empty when every step runs once." }),
    estimated_cost_usd: z.number().meta({ description: "The cost estimated when the job was created, in USD (0 when the models run locally)." }),
    actual_cost_usd: z.number().meta({ description: "What the job's completed steps cost so far, in USD (failed steps are not charged)." }),
    models: z.record(z.string(), z.string()).meta({ description: "The model each step with a choice runs, by step name (the caller's models[<step>] or the default); {} when no step offers a choice." }),
    deadline_at: z.string().nullable().meta({ description: "When the whole run must have ended (deadline_seconds), else it fails with deadline_exceeded; null: no deadline." }),
  })
  .meta({ id: "Job" });

export const executionSchema = z
  .object({
    id: z.uuid(),
    job_id: z.uuid(),
    workflow_id: z.string(),
    current_step: z.number(),
    retry_count: z.number().meta({ description: "Failed attempts in the current series; the job fails when it reaches max_retries." }),
    max_retries: z.number().meta({ description: "Attempts a series may make." }),
    last_error: z.string().nullable(),
    last_error_class: z.string().nullable(),
    last_error_reason: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .meta({ id: "WorkflowExecution" });

/** A job rerun from another, as its parent's details list it. */
export const rerunSummarySchema = z.object({ job_id: z.uuid(), status: z.enum(JOB_STATUSES), rerun_from_step: z.number(), created_at: z.string() }).meta({ id: "Rerun" });

export const timelineSegmentSchema = z
  .object({
    step: z.number().int().meta({ description: "The step's index (queued: the step it waits to run)" }),
    kind: z.enum(["queued", "running", "parked", "provider"]),
    started_at: z.string(),
    ended_at: z.string().nullable().meta({ description: "Null while it goes on" }),
    reason: z.string().optional().meta({ description: "Parked: why (outage, quota, rate_limit, timeout, awaiting_approval, ...)" }),
  })
  .meta({ id: "TimelineSegment" });

export const executionDetailsResponseSchema = z.object({
  success: z.literal(true),
  job: jobSchema,
  execution: executionSchema,
  checkpoints: z.record(z.string(), checkpointSchema),
  steps: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      label: z.string(),
      estimated_usd: z.number().nullable().meta({ description: "The step's estimate when the job was created; null when its price is unknown." }),
      actual_usd: z.number().nullable().meta({ description: "What the step cost: null until it completed or when its price is unknown, 0 when it failed." }),
      provider_seconds: z.number().nullable().meta({ description: "The provider's own compute time for the step, when it reports one." }),
    }),
  ),
  cost: z.object({ currency: z.literal("USD"), estimated_usd: z.number(), actual_usd: z.number() }),
  /** The jobs rerun from this one, oldest first (the parent is job.parent_job_id). */
  reruns: z.array(rerunSummarySchema),
  queue_position: z
    .number()
    .int()
    .nullable()
    .meta({
      description:
        "While queued: the job's place among the jobs waiting for the same runner (1 = next). In-process, the runner's own order (users take turns); under Inngest, the queued jobs queued before it, itself included (an approximation). Null otherwise.",
    }),
  eta_seconds: z
    .number()
    .nullable()
    .meta({ description: "Queued or running: seconds until the job is expected to be done, from the medians of the last 50 completed runs of its remaining steps. Null otherwise." }),
  eta_basis: z
    .enum(["recent_runs", "defaults", "mixed"])
    .nullable()
    .meta({ description: "What eta_seconds rests on: recent runs of every step counted, the documented default per step type (no run recorded), or both." }),
  timeline: z
    .array(timelineSegmentSchema)
    .meta({ description: "Where the run's time went, oldest first: each step's time waiting in line, parked (with the reason), running, and the provider's own time where it reports one." }),
});

export const jobActionResponseSchema = z.object({ success: z.literal(true), job: jobSchema, stream_url: z.string() });

export const listJobsResponseSchema = z.object({
  success: z.literal(true),
  jobs: z.array(jobSchema),
  next_cursor: z.uuid().nullable(),
});
