import "server-only";
import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import type { Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import { toUsd } from "@/lib/workflows/pricing";
import { monthStart } from "@/lib/jobs/budget";

/** The most charged steps one ledger answer lists (and sums). */
export const MAX_LEDGER_ITEMS = 10_000;
const MAX_RANGE_DAYS = 366;
const DAY_MS = 86_400_000;

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;
const bound = z
  .string()
  .trim()
  .refine((value) => (DATE_ONLY.test(value) || z.iso.datetime({ offset: true }).safeParse(value).success) && !Number.isNaN(Date.parse(value)), "must be a date (YYYY-MM-DD) or an ISO 8601 date-time")
  .optional();

export const usageQuerySchema = z.object({ from: bound, to: bound });

/** `from` starts its day; a date-only `to` includes its whole day (UTC). Defaults: this month so far. */
export function usageRange(query: URLSearchParams, now = new Date()): { from: Date; to: Date } {
  const parsed = usageQuerySchema.safeParse({ from: query.get("from") ?? undefined, to: query.get("to") ?? undefined });
  if (!parsed.success) throw new ApiError("invalid_request", parsed.error.issues.map((issue) => `${issue.path.join(".")} ${issue.message}`).join("; "));
  const from = parsed.data.from ? new Date(DATE_ONLY.test(parsed.data.from) ? `${parsed.data.from}T00:00:00Z` : parsed.data.from) : monthStart(now);
  const to = parsed.data.to
    ? DATE_ONLY.test(parsed.data.to)
      ? new Date(Date.parse(`${parsed.data.to}T00:00:00Z`) + DAY_MS)
      : new Date(parsed.data.to)
    : new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()) + DAY_MS);
  if (to <= from) throw new ApiError("invalid_request", "to must be after from.");
  if (to.getTime() - from.getTime() > MAX_RANGE_DAYS * DAY_MS) throw new ApiError("invalid_request", `The range may span at most ${MAX_RANGE_DAYS} days.`);
  return { from, to };
}

/** GET /usage: the user's spend in the range, in total, per workflow, per day (UTC), and the charged steps. */
export async function readUsage(deps: { store: Store; findWorkflow(id: string): Workflow | undefined }, userId: string, query: URLSearchParams) {
  const range = usageRange(query);
  const charges = await deps.store.listCharges(userId, { ...range, limit: MAX_LEDGER_ITEMS });
  const byWorkflow = new Map<string, { micros: number; steps: number }>();
  const byDay = new Map<string, number>();
  let total = 0;
  for (const charge of charges) {
    total += charge.costMicroUsd;
    const workflow = byWorkflow.get(charge.workflowId) ?? { micros: 0, steps: 0 };
    byWorkflow.set(charge.workflowId, { micros: workflow.micros + charge.costMicroUsd, steps: workflow.steps + 1 });
    const day = charge.chargedAt.toISOString().slice(0, 10);
    byDay.set(day, (byDay.get(day) ?? 0) + charge.costMicroUsd);
  }
  return {
    from: range.from.toISOString(),
    to: range.to.toISOString(),
    currency: "USD" as const,
    total_usd: toUsd(total),
    by_workflow: [...byWorkflow].map(([workflowId, sum]) => ({
      workflow_id: workflowId,
      workflow_name: deps.findWorkflow(workflowId)?.config.name ?? workflowId,
      total_usd: toUsd(sum.micros),
      charged_steps: sum.steps,
    })),
    by_day: [...byDay].map(([day, micros]) => ({ day, total_usd: toUsd(micros) })),
    items: charges.map((charge) => ({
      job_id: charge.jobId,
      workflow_id: charge.workflowId,
      step: charge.stepIndex,
      step_name: deps.findWorkflow(charge.workflowId)?.config.steps[charge.stepIndex]?.name ?? null,
      candidate: charge.candidate,
      cost_usd: toUsd(charge.costMicroUsd),
      charged_at: charge.chargedAt.toISOString(),
    })),
    truncated: charges.length === MAX_LEDGER_ITEMS,
  };
}
