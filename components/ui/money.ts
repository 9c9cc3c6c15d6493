/** USD for people: cents for amounts of a dollar or more, a tenth of a cent below, "$0" for nothing. */
export function formatUsd(usd: number): string {
  if (usd === 0) return "$0";
  const digits = Math.abs(usd) >= 1 ? 2 : 3;
  return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: digits })}`;
}

/** What the Execute button's estimate says (the workflow's estimate for its default inputs). */
export function estimateLabel(estimate: { total_usd: number; complete: boolean; note: string | null }): string {
  if (estimate.note !== null && estimate.total_usd === 0) return "Estimated cost: $0 (models run locally, nothing is charged)";
  return `Estimated cost: ${estimate.complete ? "" : "at least "}${formatUsd(estimate.total_usd)}`;
}

/** A run's cost for lists: what it cost once it ended, else what it is expected to cost. */
export function runCostLabel(job: { status: string; estimated_cost_usd: number; actual_cost_usd: number }): string {
  const ended = job.status === "completed" || job.status === "failed" || job.status === "canceled";
  return ended ? `cost ${formatUsd(job.actual_cost_usd)}` : `est. ${formatUsd(job.estimated_cost_usd)}`;
}
