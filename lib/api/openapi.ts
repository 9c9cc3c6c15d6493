import "server-only";
import { z } from "zod";
import {
  budgetSettingsResponseSchema,
  budgetUpdateSchema,
  errorBodySchema,
  estimateRequestSchema,
  estimateResponseSchema,
  executeFormSchema,
  executeResponseSchema,
  executionDetailsResponseSchema,
  jobActionResponseSchema,
  listJobsQuerySchema,
  listJobsResponseSchema,
  listWorkflowsResponseSchema,
  approveBodySchema,
  pickBodySchema,
  rerunBodySchema,
  rerunResponseSchema,
  usageResponseSchema,
  jobWebhooksResponseSchema,
  bulkFilterSchema,
  bulkResponseSchema,
  webhookSecretResponseSchema,
} from "@/lib/api/schemas";
import { executeFormComponents } from "@/lib/api/openapi-workflows";
import type { Workflow } from "@/lib/workflows/definition";

/** The OpenAPI 3.1 document, generated from the zod schemas that validate the requests. */
function schema(zodSchema: z.ZodType, io: "input" | "output" = "output") {
  return z.toJSONSchema(zodSchema, { target: "draft-2020-12", io, unrepresentable: "any" });
}

const json = (zodSchema: z.ZodType) => ({ "application/json": { schema: schema(zodSchema) } });

function errors(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Bad request or form",
    401: "Missing, invalid or revoked token",
    402: "budget_exceeded: this month's spend, plus what active jobs expect, plus this estimate would pass the monthly budget (nothing is stored)",
    404: "Unknown job or workflow (another user's job is not found either)",
    408: "The upload's body did not arrive within UPLOAD_BODY_TIMEOUT_SECONDS",
    409: "The job is in the wrong state for this action (or a request with this Idempotency-Key is still in progress)",
    413: "Upload or request body too large",
    415: "Not a supported image",
    422: "The input cannot be used (a corrupt image, too many pixels, a from_step the job cannot be rerun from, an unknown input), or the Idempotency-Key was used for a different request (idempotency_key_reused)",
    429: "Rate limited",
  };
  return Object.fromEntries(statuses.map((status) => [String(status), { description: descriptions[status], content: json(errorBodySchema) }]));
}

const idempotencyKeyParameter = {
  name: "Idempotency-Key",
  in: "header",
  required: false,
  description:
    "Kept 24 hours per user. The same key with the same request answers the original answer (same job_id) with the header `Idempotent-Replayed: true`; with a different request, 422 idempotency_key_reused. Of racing requests with one key, one starts the job.",
  schema: { type: "string", pattern: "^[\\x21-\\x7e]{1,255}$" },
};
const replayHeaders = { "Idempotent-Replayed": { description: "`true` when this is the original answer to an earlier request with the same Idempotency-Key", schema: { type: "string", enum: ["true"] } } };

const jobIdParameter = { name: "job_id", in: "path", required: true, schema: { type: "string", format: "uuid" } };
const bearer = [{ bearerAuth: [] }];

/**
 * zod writes each schema's named parts (`.meta({id})`) as `$defs` inside it, referenced as
 * `#/$defs/<id>`: in an OpenAPI document `#` is the document, so those references resolve nowhere.
 * Every `$defs` entry moves to `components.schemas` (beside the schemas already there, such as the
 * execute forms) and every reference points there (one definition per id), which OpenAPI tools
 * (openapi-typescript for lib/client) can follow.
 */
function withSharedSchemas<T extends { components: Record<string, unknown> }>(document: T): T {
  const schemas: Record<string, unknown> = {};
  const visit = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(visit);
    if (typeof node !== "object" || node === null) return node;
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(node)) {
      if (key === "$defs" && typeof value === "object" && value !== null) {
        for (const [name, definition] of Object.entries(value)) schemas[name] = visit(definition);
      } else if (key === "$ref" && typeof value === "string" && value.startsWith("#/$defs/")) {
        out[key] = `#/components/schemas/${value.slice("#/$defs/".length)}`;
      } else {
        out[key] = visit(value);
      }
    }
    return out;
  };
  const shared = visit(document) as T;
  const existing = (shared.components.schemas ?? {}) as Record<string, unknown>;
  return { ...shared, components: { ...shared.components, schemas: { ...existing, ...schemas } } };
}

/** `workflows`: the installed ones, whose execute forms the document describes one by one. */
export function openApiDocument(serverUrl: string, workflows: Iterable<Workflow> = []) {
  const forms = executeFormComponents(workflows);
  return withSharedSchemas({
    openapi: "3.1.0",
    info: {
      title: "Montage API",
      version: "1.0.0",
      description: "Run multi-step AI media workflows. Authenticate with `Authorization: Bearer <token>` (create one with `npm run token:create`).",
    },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } }, schemas: forms },
    paths: {
      "/workflows/list": {
        get: { summary: "List installed workflows", responses: { "200": { description: "Workflows", content: json(listWorkflowsResponseSchema) } } },
      },
      "/workflows/execute": {
        post: {
          summary: "Start a workflow (with an image for those that take one)",
          description:
            "Each installed workflow's form is components.schemas[\"Execute.<id>\"]: its typed inputs (a bad value is a 400 naming the field), its file field if it takes one, and models[<step>] for steps that offer a choice of model. Repeat approve_before=<step name> to stop before those steps until POST /workflows/approve (config.json's \"approval\": true steps always stop). candidates[<step name>]=1..4 runs that step as candidates side by side (or one field candidates={\"image_edit\": 3}); the job then waits as awaiting_input for POST /workflows/pick, unless auto_pick=true takes the first that succeeded. A step that forbids candidates, an unknown step or a count outside 1-4 is 422.",
          security: bearer,
          parameters: [idempotencyKeyParameter],
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": {
                // Each installed workflow's own form (its inputs, file and model choices); the generic one for any other.
                schema: Object.keys(forms).length > 0 ? { oneOf: Object.keys(forms).map((name) => ({ $ref: `#/components/schemas/${name}` })) } : schema(executeFormSchema, "input"),
              },
            },
          },
          responses: { "202": { description: "Job queued", headers: replayHeaders, content: json(executeResponseSchema) }, ...errors(400, 401, 402, 404, 408, 413, 415, 422, 429) },
        },
      },
      "/workflows/estimate": {
        post: {
          summary: "What a run would cost: the execute form's fields (no file needed), or the same fields as JSON, plus candidates",
          security: bearer,
          requestBody: {
            required: true,
            content: {
              "multipart/form-data": { schema: schema(estimateRequestSchema, "input") },
              "application/json": { schema: schema(estimateRequestSchema, "input") },
            },
          },
          responses: { "200": { description: "The estimate, per step and in total", content: json(estimateResponseSchema) }, ...errors(400, 401, 404, 415) },
        },
      },
      "/workflows/retry/{job_id}": {
        post: {
          summary: "Retry a failed, parked or canceled job from its last checkpoint",
          security: bearer,
          parameters: [jobIdParameter, idempotencyKeyParameter],
          responses: { "200": { description: "Job queued again", headers: replayHeaders, content: json(jobActionResponseSchema) }, ...errors(400, 401, 402, 404, 409, 422) },
        },
      },
      "/workflows/rerun/{job_id}": {
        post: {
          summary: "Rerun a completed, failed or canceled job from a step, with changed inputs",
          description:
            "A new job takes the parent's completed steps before from_step as its own checkpoints (no provider is called for them, the image is not uploaded again) and runs from from_step with the parent's inputs overridden by `inputs`. from_step must be a step the parent completed or its first incomplete step (else 422). As multipart/form-data: fields from_step and inputs[<name>].",
          security: bearer,
          parameters: [jobIdParameter],
          requestBody: {
            required: true,
            content: { "application/json": { schema: schema(rerunBodySchema, "input") }, "multipart/form-data": { schema: schema(rerunBodySchema, "input") } },
          },
          responses: { "202": { description: "Rerun queued", content: json(rerunResponseSchema) }, ...errors(400, 401, 402, 404, 409, 413, 415, 422, 429) },
        },
      },
      "/workflows/approve/{job_id}": {
        post: {
          summary: "Approve or reject the step a job awaiting_approval waits before",
          description:
            "approve: true runs the step (the job resumes as running, no attempt spent); approve: false cancels the job with the comment as its reason (error_code approval_rejected). A compare-and-set on awaiting_approval: of two decisions, or a decision and a cancel, exactly one applies; the other gets 409. Unanswered until the workflow's approval_timeout_seconds (default 24 h), the job fails with approval_timeout.",
          security: bearer,
          parameters: [jobIdParameter],
          requestBody: { required: true, content: { "application/json": { schema: schema(approveBodySchema, "input") } } },
          responses: { "200": { description: "Decision recorded", content: json(jobActionResponseSchema) }, ...errors(400, 401, 404, 409, 413, 415) },
        },
      },
      "/workflows/pick/{job_id}": {
        post: {
          summary: "Pick one of the candidates of the step a job awaiting_input waits at",
          description:
            "The chosen candidate's output becomes the step's output (the checkpoint's output at the step's key; all candidates stay under its `candidates`) and feeds the next step; the job resumes as running, no attempt spent. A compare-and-set on awaiting_input at that step: of two picks, or a pick and a cancel, exactly one applies; the other gets 409. A step the job does not wait at is 409; an unknown step, or a candidate that does not exist or did not succeed, is 422.",
          security: bearer,
          parameters: [jobIdParameter],
          requestBody: { required: true, content: { "application/json": { schema: schema(pickBodySchema, "input") } } },
          responses: { "200": { description: "Pick recorded", content: json(jobActionResponseSchema) }, ...errors(400, 401, 404, 409, 413, 415, 422) },
        },
      },
      "/workflows/cancel/{job_id}": {
        post: {
          summary: "Cancel a queued, running, parked, awaiting_approval or awaiting_input job",
          security: bearer,
          parameters: [jobIdParameter],
          responses: { "200": { description: "Job canceled", content: json(jobActionResponseSchema) }, ...errors(401, 404, 409) },
        },
      },
      "/workflows/execution/{job_id}": {
        get: {
          summary: "A job with its execution and checkpoints",
          security: bearer,
          parameters: [jobIdParameter],
          responses: { "200": { description: "Execution details", content: json(executionDetailsResponseSchema) }, ...errors(401, 404) },
        },
      },
      "/usage": {
        get: {
          summary: "The caller's spend: in total, per workflow, per day (UTC), and the charged steps",
          description: "from and to are dates (YYYY-MM-DD, to includes its whole day) or ISO 8601 date-times; default: this month so far. At most 366 days.",
          security: bearer,
          parameters: [
            { name: "from", in: "query", required: false, schema: { type: "string" } },
            { name: "to", in: "query", required: false, schema: { type: "string" } },
          ],
          responses: { "200": { description: "The ledger", content: json(usageResponseSchema) }, ...errors(400, 401) },
        },
      },
      "/api/budget": {
        get: {
          summary: "The caller's monthly budget and this month's spend",
          security: bearer,
          responses: { "200": { description: "Budget and spend", content: json(budgetSettingsResponseSchema) }, ...errors(401) },
        },
        put: {
          summary: "Set (or, with null, remove) the caller's own monthly budget; it may only be lower than the server's",
          security: bearer,
          requestBody: { required: true, content: { "application/json": { schema: schema(budgetUpdateSchema, "input") } } },
          responses: { "200": { description: "Budget and spend", content: json(budgetSettingsResponseSchema) }, ...errors(400, 401) },
        },
      },
      "/jobs": {
        get: {
          summary: "The caller's jobs, newest first",
          security: bearer,
          parameters: Object.entries(schema(listJobsQuerySchema, "input").properties ?? {}).map(([name, property]) => ({ name, in: "query", schema: property })),
          responses: { "200": { description: "A page of jobs", content: json(listJobsResponseSchema) }, ...errors(400, 401) },
        },
      },
      "/jobs/cancel": {
        post: {
          summary: "Cancel every queued, running or parked job of yours the filter matches, in batches",
          security: bearer,
          requestBody: { required: true, content: json(bulkFilterSchema) },
          responses: { "200": { description: "How many matched and were canceled", content: json(bulkResponseSchema) }, ...errors(400, 401) },
        },
      },
      "/jobs/retry": {
        post: {
          summary: "Retry every failed, parked or canceled job of yours the filter matches, in batches",
          security: bearer,
          requestBody: { required: true, content: json(bulkFilterSchema) },
          responses: { "200": { description: "How many matched and were retried", content: json(bulkResponseSchema) }, ...errors(400, 401) },
        },
      },
      "/jobs/{job_id}/webhooks": {
        get: {
          summary: "The job's webhook and each delivery with its attempts",
          security: bearer,
          parameters: [jobIdParameter],
          responses: { "200": { description: "Deliveries, in event order", content: json(jobWebhooksResponseSchema) }, ...errors(401, 404) },
        },
      },
      "/api/webhook-secret": {
        get: {
          summary: "The caller's webhook signing secret (made on first use)",
          security: bearer,
          responses: { "200": { description: "The secret", content: json(webhookSecretResponseSchema) }, ...errors(401) },
        },
        post: {
          summary: "Rotate the webhook signing secret: deliveries from now on are signed with the new one",
          security: bearer,
          responses: { "200": { description: "The new secret", content: json(webhookSecretResponseSchema) }, ...errors(401) },
        },
      },
      "/jobs/{job_id}/input": {
        get: {
          summary: "The image the job was started with (its upload), e.g. to run it again",
          security: bearer,
          parameters: [jobIdParameter],
          responses: {
            "200": {
              description: "The uploaded bytes, with their content type and file name (Content-Disposition)",
              content: Object.fromEntries(["image/jpeg", "image/png", "image/webp"].map((type) => [type, { schema: { type: "string", contentMediaType: type } }])),
            },
            ...errors(401, 404),
          },
        },
      },
      "/jobs/{job_id}/input/{field}": {
        get: {
          summary: "The image the job was sent for one of its workflow's extra image inputs (every image input after the first), e.g. to run it again",
          description: "The first image input is the job's upload: GET /jobs/{job_id}/input. 404 when the job was not sent an image in that field (an optional input left empty, or no such input).",
          security: bearer,
          parameters: [jobIdParameter, { name: "field", in: "path", required: true, description: "The image input's name, e.g. style", schema: { type: "string", pattern: "^[a-z][a-z0-9_]{0,62}$" } }],
          responses: {
            "200": {
              description: "The image's bytes, with their content type and file name (Content-Disposition)",
              content: Object.fromEntries(["image/jpeg", "image/png", "image/webp"].map((type) => [type, { schema: { type: "string", contentMediaType: type } }])),
            },
            ...errors(401, 404),
          },
        },
      },
      "/jobs/{job_id}/stream": {
        get: {
          summary: "Server-sent events: progress, checkpoint, retry_scheduled, awaiting, complete, error",
          description:
            "Every event has an id; send Last-Event-ID to replay exactly the missed events. Heartbeat comments every 15 s. The stream closes after the job ends. A client that leaves 1 MiB of events unread is disconnected: reconnect with Last-Event-ID. While a job waits in the in-process runner's line, a `progress` event (message Queued) carries `queue_position`, `eta_seconds` and `eta_basis`, announced again whenever its place changes.",
          security: bearer,
          parameters: [jobIdParameter, { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^\\d{1,15}$" } }],
          responses: { "200": { description: "An SSE stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors(400, 401, 404) },
        },
      },
    },
  });
}
