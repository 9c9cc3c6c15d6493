"use client";

import Link from "next/link";
import { GitBranch } from "lucide-react";
import type { ExecutionDetails } from "@/components/api/types";
import { StatusBadge } from "@/components/ui/status-badge";
import { cardClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";

/** Where a run came from (the run it reruns, and from which step) and the reruns made from it. */
export function RunLineage({ details }: { details: ExecutionDetails }) {
  const { job, reruns, steps } = details;
  if (!job.parent_job_id && reruns.length === 0) return null;
  const stepLabel = (index: number) => steps[index]?.label ?? `step ${index + 1}`;
  return (
    <section className={`${cardClass} p-5`} aria-labelledby="run-lineage" data-testid="run-lineage">
      <h2 id="run-lineage" className="flex items-center gap-2 text-sm font-semibold text-slate-100">
        <GitBranch aria-hidden className="size-4 text-amber-300" />
        Lineage
      </h2>
      {job.parent_job_id && (
        <p className="mt-3 text-sm text-slate-200" data-testid="lineage-parent">
          Rerun of{" "}
          <Link href={`/runs/${job.parent_job_id}`} className="rounded font-medium text-amber-300 underline underline-offset-2 hover:text-amber-200">
            run {job.parent_job_id.slice(0, 8)}
          </Link>{" "}
          from {stepLabel(job.rerun_from_step ?? 0)}; the steps before it were taken from that run.
        </p>
      )}
      {reruns.length > 0 && (
        <div className="mt-3">
          <p className="text-xs font-medium text-slate-400">Reruns of this run</p>
          <ul className="mt-2 space-y-2" data-testid="lineage-reruns">
            {reruns.map((rerun) => (
              <li key={rerun.job_id} className="flex flex-wrap items-center gap-2 text-sm text-slate-200">
                <Link href={`/runs/${rerun.job_id}`} className="rounded font-medium text-amber-300 underline underline-offset-2 hover:text-amber-200">
                  Run {rerun.job_id.slice(0, 8)}
                </Link>
                <span>from {stepLabel(rerun.rerun_from_step)}</span>
                <StatusBadge status={rerun.status} />
                <span className="text-xs text-slate-400">
                  <RelativeTime iso={rerun.created_at} />
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
