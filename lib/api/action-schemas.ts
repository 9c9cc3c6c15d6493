import "server-only";
import { z } from "zod";
import { JOB_STATUSES } from "@/lib/contract/events";

// The bodies and answers of a person's actions on jobs: rerun, approve, pick, bulk cancel and retry
// (re-exported by lib/api/schemas.ts).

/**
 * POST /workflows/rerun/<job_id>: the step to run from (its index or name) and the declared
 * inputs to change. JSON as it is; a multipart form as `from_step` and `inputs[<name>]` fields.
 */
export const rerunBodySchema = z
  .object({
    from_step: z.union([z.number().int().min(0).max(999), z.string().min(1).max(64)]).meta({ description: "The step to run from: its index (0-based) or its name" }),
    inputs: z
      .record(z.string().max(64), z.string().max(16 * 1024))
      .optional()
      .meta({ description: "Declared inputs to change; the others keep the parent job's values" }),
    candidates: z
      .record(z.string().max(64), z.union([z.number(), z.string().max(4)]))
      .optional()
      .meta({ description: "Candidates by step name, 1-4, for the steps the rerun runs (config.json's defaults apply otherwise); multipart: candidates[<step name>]=<n>" }),
    auto_pick: z.union([z.boolean(), z.enum(["true", "false"])]).optional().meta({ description: "Pick the first candidate that succeeded without asking" }),
    deadline_seconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional()
      .meta({ description: "The rerun must end within this many seconds, else it fails with deadline_exceeded (its provider call canceled)" }),
  })
  .strict();

export const rerunResponseSchema = z.object({ success: z.literal(true), job_id: z.uuid(), stream_url: z.string(), parent_job_id: z.uuid() });


/** POST /workflows/approve/<job_id>: a person's decision on the step a job waits before. */
export const approveBodySchema = z
  .object({
    approve: z.boolean().meta({ description: "true runs the step; false cancels the job" }),
    comment: z.string().trim().max(1000).optional().meta({ description: "Kept in the job's events; a rejection's comment is the job's cancel reason" }),
  })
  .strict();

/** POST /workflows/pick/<job_id>: which candidate of the awaited step to carry forward. */
export const pickBodySchema = z
  .object({
    step: z.union([z.number().int().min(0).max(999), z.string().min(1).max(64)]).meta({ description: "The step awaiting a pick: its index (0-based) or its name" }),
    candidate: z.number().int().min(1).max(4).meta({ description: "The candidate to use (1..n), one that completed" }),
  })
  .strict();

/** POST /jobs/cancel and /jobs/retry: which of the caller's jobs; every field given must match. */
export const bulkFilterSchema = z
  .object({
    status: z.array(z.enum(JOB_STATUSES)).min(1).max(8).optional(),
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
