import "server-only";
import { z } from "zod";
import {
  errorBodySchema,
  executeFormSchema,
  executeResponseSchema,
  executionDetailsResponseSchema,
  jobActionResponseSchema,
  listJobsQuerySchema,
  listJobsResponseSchema,
  listWorkflowsResponseSchema,
  jobWebhooksResponseSchema,
  bulkFilterSchema,
  bulkResponseSchema,
  webhookSecretResponseSchema,
} from "@/lib/api/schemas";

/** The OpenAPI 3.1 document, generated from the zod schemas that validate the requests. */
function schema(zodSchema: z.ZodType, io: "input" | "output" = "output") {
  return z.toJSONSchema(zodSchema, { target: "draft-2020-12", io, unrepresentable: "any" });
}

const json = (zodSchema: z.ZodType) => ({ "application/json": { schema: schema(zodSchema) } });

function errors(...statuses: number[]) {
  const descriptions: Record<number, string> = {
    400: "Bad request or form",
    401: "Missing, invalid or revoked token",
    404: "Unknown job or workflow (another user's job is not found either)",
    409: "The job is in the wrong state for this action (or a request with this Idempotency-Key is still in progress)",
    413: "Upload too large",
    415: "Not a supported image",
    422: "The image cannot be used (corrupt, too many pixels), or the Idempotency-Key was used for a different request (idempotency_key_reused)",
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

export function openApiDocument(serverUrl: string) {
  return {
    openapi: "3.1.0",
    info: {
      title: "Montage API",
      version: "1.0.0",
      description: "Run multi-step AI media workflows. Authenticate with `Authorization: Bearer <token>` (create one with `npm run token:create`).",
    },
    servers: [{ url: serverUrl }],
    components: { securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } },
    paths: {
      "/workflows/list": {
        get: { summary: "List installed workflows", responses: { "200": { description: "Workflows", content: json(listWorkflowsResponseSchema) } } },
      },
      "/workflows/execute": {
        post: {
          summary: "Start a workflow on an uploaded image",
          security: bearer,
          parameters: [idempotencyKeyParameter],
          requestBody: { required: true, content: { "multipart/form-data": { schema: schema(executeFormSchema, "input") } } },
          responses: { "202": { description: "Job queued", headers: replayHeaders, content: json(executeResponseSchema) }, ...errors(400, 401, 404, 413, 415, 422, 429) },
        },
      },
      "/workflows/retry/{job_id}": {
        post: {
          summary: "Retry a failed, parked or canceled job from its last checkpoint",
          security: bearer,
          parameters: [jobIdParameter, idempotencyKeyParameter],
          responses: { "200": { description: "Job queued again", headers: replayHeaders, content: json(jobActionResponseSchema) }, ...errors(400, 401, 404, 409, 422) },
        },
      },
      "/workflows/cancel/{job_id}": {
        post: {
          summary: "Cancel a queued, running or parked job",
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
      "/jobs/{job_id}/stream": {
        get: {
          summary: "Server-sent events: progress, checkpoint, retry_scheduled, complete, error",
          description:
            "Every event has an id; send Last-Event-ID to replay exactly the missed events. Heartbeat comments every 15 s. The stream closes after the job ends.",
          security: bearer,
          parameters: [jobIdParameter, { name: "Last-Event-ID", in: "header", required: false, schema: { type: "string", pattern: "^\\d{1,15}$" } }],
          responses: { "200": { description: "An SSE stream", content: { "text/event-stream": { schema: { type: "string" } } } }, ...errors(400, 401, 404) },
        },
      },
    },
  };
}
