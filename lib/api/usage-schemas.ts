import "server-only";
import { z } from "zod";

// The answers about what a user spent and set up: usage, budget, webhook secret, a job's webhook
// deliveries (re-exported by lib/api/schemas.ts).

export const usageResponseSchema = z.object({
  success: z.literal(true),
  from: z.string(),
  to: z.string(),
  currency: z.literal("USD"),
  total_usd: z.number(),
  by_workflow: z.array(z.object({ workflow_id: z.string(), workflow_name: z.string(), total_usd: z.number(), charged_steps: z.number().int() })),
  by_day: z.array(z.object({ day: z.string().meta({ description: "YYYY-MM-DD, UTC" }), total_usd: z.number() })),
  items: z.array(
    z.object({
      job_id: z.uuid(),
      workflow_id: z.string(),
      step: z.number().int(),
      step_name: z.string().nullable(),
      candidate: z.number().int(),
      cost_usd: z.number(),
      charged_at: z.string(),
    }),
  ),
  truncated: z.boolean().meta({ description: "True when the range holds more charged steps than one answer lists (10,000); narrow it." }),
});

export const budgetSettingsResponseSchema = z.object({
  success: z.literal(true),
  monthly_budget_usd: z.number().nullable().meta({ description: "The budget that applies: the lower of the server's and the user's own; null for none." }),
  server_budget_usd: z.number().nullable().meta({ description: "USER_MONTHLY_BUDGET_USD; a user may only set a lower budget." }),
  own_budget_usd: z.number().nullable(),
  month_start: z.string(),
  month_spent_usd: z.number(),
  month_outstanding_usd: z.number().meta({ description: "What the user's queued, running and parked jobs are still expected to spend." }),
});

export const budgetUpdateSchema = z.object({ monthly_budget_usd: z.number().nonnegative().max(1_000_000).nullable() }).strict();

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
