import "server-only";
import { z } from "zod";
import type { StepContext } from "@/lib/workflows/step-context";

/**
 * How a step's model is priced, in the forms providers bill by (USD). `estimate_seconds` is what an
 * estimate assumes for the per-second forms: the video length the model makes, or its usual compute
 * time; the actual cost uses what the provider reports (lib/workflows/pricing.ts).
 */
export const stepPricingSchema = z.discriminatedUnion("per", [
  z.object({ per: z.literal("output"), usd: z.number().nonnegative().max(1000) }),
  z.object({ per: z.literal("second_of_output"), usd: z.number().nonnegative().max(1000), estimate_seconds: z.number().positive().max(3600) }),
  z.object({ per: z.literal("second_of_compute"), usd: z.number().nonnegative().max(1000), estimate_seconds: z.number().positive().max(3600) }),
]);
export type StepPricing = z.infer<typeof stepPricingSchema>;

/** A workflow folder's config.json. Validated when the registry loads. */
export const workflowConfigSchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, "lowercase letters, digits and dashes"),
  name: z.string().min(1).max(80),
  description: z.string().max(500).default(""),
  icon: z.string().max(16).default("⚙️"),
  steps: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/, "snake_case step name"),
        type: z.string().min(1),
        label: z.string().min(1),
        /** Model id in the provider's catalogue, e.g. "google/nano-banana". */
        model: z.string().optional(),
        /** Default model input, merged under what the handler passes. */
        input: z.record(z.string(), z.unknown()).optional(),
        /** The job stops before this step until a person approves it (POST /workflows/approve). */
        approval: z.boolean().optional(),
        /** What running the model costs on a paid provider; local models cost nothing whatever this says. */
        pricing: stepPricingSchema.optional(),
        /** The step is stopped (its provider call canceled) when it runs longer than this. */
        timeout_seconds: z.number().int().min(1).max(24 * 3600).optional(),
        /** What a timed-out step does: park as a retryable `timeout` (default), or fail the job (code `timeout`). */
        on_timeout: z.enum(["retry", "fail"]).optional(),
      }),
    )
    .min(1),
  inputs: z
    .array(
      z.object({
        name: z.string().regex(/^[a-z][a-z0-9_]{0,62}$/),
        label: z.string(),
        type: z.enum(["text", "textarea"]).default("text"),
        description: z.string().optional(),
        default: z.string().optional(),
        required: z.boolean().default(false),
        max_length: z.number().int().positive().default(1000),
      }),
    )
    .default([]),
  /** How long a job waits for an approval before it fails with approval_timeout (default 24 h). */
  approval_timeout_seconds: z.number().int().positive().max(30 * 24 * 3600).optional(),
  retry: z
    .object({
      max_attempts: z.number().int().min(1).max(20).optional(),
      backoff_seconds: z.number().positive().optional(),
    })
    .optional(),
});

export type WorkflowConfig = z.infer<typeof workflowConfigSchema>;
export type StepConfig = WorkflowConfig["steps"][number];

export type StepOutput = Record<string, unknown>;
export type StepHandler = (ctx: StepContext) => Promise<StepOutput>;
export type StepHandlers = Record<string, StepHandler>;

/** What a workflow.ts exports as `handlers`: one function per step name in its config.json. */
export function defineWorkflow<H extends StepHandlers>(handlers: H): H {
  return handlers;
}

export interface Workflow {
  config: WorkflowConfig;
  handlers: StepHandlers;
  /** A hash of the folder's config.json and code: jobs record the version they started with. */
  version: string;
}
