import "server-only";
import { z } from "zod";
import { inputListSchema } from "@/lib/workflows/inputs";
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

/** One model a step allows: its id, what it costs, and how the handler's input maps onto its own. */
export const stepModelSchema = z.object({
  model: z.string().regex(/^[a-z0-9][a-z0-9._-]*\/[a-z0-9][a-z0-9._-]*$/i, "owner/name"),
  label: z.string().min(1).max(80).optional(),
  pricing: stepPricingSchema.optional(),
  /** Default model input for this model, merged over the step's `input`. */
  input: z.record(z.string(), z.unknown()).optional(),
  /** Renames the handler's input fields to this model's names, e.g. {"image": "input_image"}. */
  input_map: z.record(z.string(), z.string()).optional(),
});
export type StepModel = z.infer<typeof stepModelSchema>;

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
        /**
         * Candidates (lib/workflows/candidates.ts): a number 1-4 is how many candidates the step runs
         * by default (a caller may ask for 1-4 instead); false forbids them. Absent: a step that runs
         * a model allows them (default 1), a step without a model forbids them.
         */
        candidates: z.union([z.literal(false), z.number().int().min(1).max(4)]).optional(),
        /** What running the model costs on a paid provider; local models cost nothing whatever this says. */
        pricing: stepPricingSchema.optional(),
        /**
         * The models a caller may choose for this step (`models[<step>]=<owner/name>` at execute),
         * each with its own pricing and input. `model` is the default (else the first listed).
         */
        models: z.array(stepModelSchema).min(1).max(20).optional(),
        /** The step is stopped (its provider call canceled) when it runs longer than this. */
        timeout_seconds: z.number().int().min(1).max(24 * 3600).optional(),
        /** What a timed-out step does: park as a retryable `timeout` (default), or fail the job (code `timeout`). */
        on_timeout: z.enum(["retry", "fail"]).optional(),
      }),
    )
    .min(1)
    .superRefine((steps, ctx) => {
      for (const step of steps) {
        if (!step.models) continue;
        if (step.model && !step.models.some((choice) => choice.model === step.model)) ctx.addIssue({ code: "custom", message: `step ${step.name}: model ${step.model} is not among its models` });
        if (new Set(step.models.map((choice) => choice.model)).size !== step.models.length) ctx.addIssue({ code: "custom", message: `step ${step.name}: a model is listed twice` });
      }
    }),
  /** What the caller fills in (lib/workflows/inputs.ts): typed, with defaults and limits. */
  inputs: inputListSchema,
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
