import "server-only";
import { z } from "zod";
import { JOB_STATUSES } from "@/lib/contract/events";
import { ERROR_STATUS } from "@/lib/api/errors";

/**
 * One zod schema per API input and output: it validates, gives the type, and feeds the OpenAPI
 * document (lib/api/openapi.ts).
 */

export const jobIdSchema = z.uuid({ message: "job_id must be a UUID" });

export const executeFormSchema = z
  .object({
    workflow_id: z.string().min(1, "workflow_id is required").max(64),
    file: z.string().meta({ format: "binary", description: "A JPEG, PNG or WebP image" }),
    webhook_url: z
      .string()
      .max(2048)
      .optional()
      .meta({ description: "An https URL on a public address: the run's events are delivered there, signed (Standard Webhooks), at least once, in order" }),
    webhook_events: z
      .string()
      .optional()
      .meta({ description: "Comma-separated stream event names to deliver: progress, checkpoint, retry_scheduled, complete, error (default complete,error)" }),
  })
  .catchall(z.string().meta({ description: "Values for the inputs the workflow declares, e.g. edit_prompt" }));

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

export const workflowSchema = z
  .object({
    id: z.string(),
    /** A hash of the workflow's config.json and code; jobs record the version they started with. */
    version: z.string(),
    name: z.string(),
    description: z.string(),
    icon: z.string(),
    steps: z.array(z.object({ name: z.string(), type: z.string(), label: z.string(), model: z.string().optional() })),
    inputs: z.array(
      z.object({
        name: z.string(),
        label: z.string(),
        type: z.enum(["text", "textarea"]),
        description: z.string().optional(),
        default: z.string().optional(),
        required: z.boolean(),
        max_length: z.number(),
      }),
    ),
    accepts: z.object({ content_types: z.array(z.string()), max_bytes: z.number(), max_pixels: z.number() }),
  })
  .meta({ id: "Workflow" });

export const listWorkflowsResponseSchema = z.object({ success: z.literal(true), workflows: z.array(workflowSchema) });

export const executeResponseSchema = z.object({ success: z.literal(true), job_id: z.uuid(), stream_url: z.string() });

const checkpointSchema = z.object({
  status: z.enum(["running", "completed", "failed_retryable", "failed", "canceled"]),
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

export const executionDetailsResponseSchema = z.object({
  success: z.literal(true),
  job: jobSchema,
  execution: executionSchema,
  checkpoints: z.record(z.string(), checkpointSchema),
  steps: z.array(z.object({ name: z.string(), type: z.string(), label: z.string() })),
});

export const jobActionResponseSchema = z.object({ success: z.literal(true), job: jobSchema, stream_url: z.string() });

export const listJobsResponseSchema = z.object({
  success: z.literal(true),
  jobs: z.array(jobSchema),
  next_cursor: z.uuid().nullable(),
});

export const webhookSecretResponseSchema = z.object({ success: z.literal(true), secret: z.string().meta({ description: "whsec_ + base64: the key of the webhook signatures" }) });

export const jobWebhooksResponseSchema = z.object({
  success: z.literal(true),
  webhook: z.object({ url: z.string(), events: z.array(z.string()) }).nullable(),
  deliveries: z.array(
    z.object({
      id: z.string().meta({ description: "The webhook-id header: the same on every attempt" }),
      event_id: z.number(),
      event: z.string(),
      status: z.enum(["pending", "delivered", "failed"]),
      attempts: z.number(),
      next_attempt_at: z.string().nullable(),
      last_status: z.number().nullable(),
      last_error: z.string().nullable(),
      created_at: z.string(),
      delivered_at: z.string().nullable(),
      tries: z.array(z.object({ attempt: z.number(), at: z.string(), status_code: z.number().nullable(), error: z.string().nullable(), duration_ms: z.number() })),
    }),
  ),
});

/** POST /jobs/cancel and /jobs/retry: which of the caller's jobs; every field given must match. */
export const bulkFilterSchema = z
  .object({
    status: z.array(z.enum(JOB_STATUSES)).min(1).max(6).optional(),
    workflow_id: z.string().min(1).max(64).optional(),
    created_after: z.iso.datetime({ offset: true }).optional().meta({ description: "Jobs created at or after this time" }),
    created_before: z.iso.datetime({ offset: true }).optional().meta({ description: "Jobs created before this time" }),
    job_ids: z.array(z.uuid()).min(1).max(100).optional().meta({ description: "Only these jobs (e.g. a selection in the web app)" }),
  })
  .strict();

export const bulkResponseSchema = z.object({
  success: z.literal(true),
  matched: z.number().meta({ description: "Jobs the filter matched (in a state the action applies to)" }),
  canceled: z.number().optional(),
  retried: z.number().optional(),
  skipped: z.number().meta({ description: "Matched jobs that changed state before they were reached" }),
});
