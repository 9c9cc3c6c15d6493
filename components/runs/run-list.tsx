"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useId, useState } from "react";
import { History, Search } from "lucide-react";
import type { JobStatus } from "@/lib/contract/events";
import { apiFetch, errorMessage, shouldRetryQuery } from "@/components/api/client";
import type { ListJobsResponse } from "@/components/api/types";
import { isActiveStatus } from "@/components/jobs/job-state";
import { runsQueryKey } from "@/components/jobs/use-job-live";
import { BulkBar } from "@/components/runs/bulk-bar";
import { RunRow, runSearchText } from "@/components/runs/run-row";
import { EmptyState, ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { buttonClass, inputClass } from "@/components/ui/styles";
import { useWorkflows, workflowById } from "@/components/workflows/use-workflows";

const PAGE_SIZE = 20;
const FILTERS: { id: JobStatus | "all"; label: string }[] = [
  { id: "all", label: "All" },
  { id: "running", label: "Running" },
  { id: "pending_retry", label: "Waiting to retry" },
  { id: "awaiting_approval", label: "Awaiting approval" },
  { id: "awaiting_input", label: "Awaiting your pick" },
  { id: "completed", label: "Completed" },
  { id: "failed", label: "Failed" },
  { id: "canceled", label: "Canceled" },
];

/**
 * The signed-in user's runs (GET /jobs), newest first, filterable by status and searchable by prompt,
 * workflow or file name (among the runs loaded so far), refreshed while any is active.
 */
export function RunList() {
  const [filter, setFilter] = useState<JobStatus | "all">("all");
  const [query, setQuery] = useState("");
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const searchId = useId();
  const workflows = useWorkflows();
  const runs = useInfiniteQuery({
    queryKey: [...runsQueryKey, filter],
    queryFn: ({ pageParam, signal }) => {
      const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
      if (pageParam) params.set("cursor", pageParam);
      if (filter !== "all") params.set("status", filter);
      return apiFetch<ListJobsResponse>(`/jobs?${params}`, { signal });
    },
    initialPageParam: null as string | null,
    getNextPageParam: (page) => page.next_cursor,
    retry: shouldRetryQuery,
    refetchInterval: (query) => (query.state.data?.pages.some((page) => page.jobs.some((job) => isActiveStatus(job.status))) ? 3000 : false),
  });
  const loaded = runs.data?.pages.flatMap((page) => page.jobs) ?? [];
  const rerunCounts = new Map<string, number>();
  for (const job of loaded) if (job.parent_job_id) rerunCounts.set(job.parent_job_id, (rerunCounts.get(job.parent_job_id) ?? 0) + 1);
  const needle = query.trim().toLowerCase();
  const jobs = needle ? loaded.filter((job) => runSearchText(job, workflowById(workflows.data, job.workflow_id)).includes(needle)) : loaded;
  const toggle = (jobId: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (!next.delete(jobId)) next.add(jobId);
      return next;
    });

  return (
    <div className="space-y-4">
      <div className="relative sm:max-w-sm">
        <label htmlFor={searchId} className="sr-only">
          Search runs
        </label>
        <Search aria-hidden className="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-slate-400" />
        <input id={searchId} type="search" value={query} onChange={(event) => setQuery(event.currentTarget.value)} placeholder="Search by prompt, workflow or file" className={`${inputClass} pl-9`} />
      </div>
      <div role="group" aria-label="Filter by status" className="-mx-1 flex gap-2 overflow-x-auto px-1 pb-1">
        {FILTERS.map((option) => (
          <button
            key={option.id}
            type="button"
            aria-pressed={filter === option.id}
            onClick={() => setFilter(option.id)}
            className={`inline-flex h-8 shrink-0 items-center rounded-full border px-3 text-sm transition-colors ${
              filter === option.id ? "border-amber-400 bg-amber-950 text-amber-100" : "border-slate-700 text-slate-300 hover:border-slate-500 hover:text-white"
            }`}
          >
            {option.label}
          </button>
        ))}
      </div>

      {runs.isPending ? (
        <ul className="space-y-3" aria-busy="true" aria-label="Loading runs">
          {[0, 1, 2].map((index) => (
            <li key={index}>
              <Skeleton className="h-[84px] w-full rounded-2xl sm:h-[98px]" />
            </li>
          ))}
        </ul>
      ) : runs.isError ? (
        <ErrorState
          title="Your runs could not be loaded"
          message={errorMessage(runs.error)}
          action={
            <button type="button" className={buttonClass("secondary", "sm")} onClick={() => void runs.refetch()}>
              Try again
            </button>
          }
        />
      ) : loaded.length > 0 && jobs.length === 0 ? (
        <p role="status" className="rounded-2xl border border-slate-800 p-8 text-center text-sm text-slate-300">
          No run{runs.hasNextPage ? " loaded so far" : ""} matches “{query}”.
        </p>
      ) : jobs.length === 0 ? (
        <EmptyState
          icon={<History className="size-6" />}
          title={filter === "all" ? "No runs yet" : "No runs with this status"}
          action={
            filter === "all" ? (
              <Link href="/workflows" className={buttonClass("primary")}>
                Run a workflow
              </Link>
            ) : undefined
          }
        >
          {filter === "all" ? "Runs you start appear here, with their steps and results." : "Try another filter."}
        </EmptyState>
      ) : (
        <>
          <BulkBar selected={loaded.filter((job) => selected.has(job.id))} onDone={() => setSelected(new Set())} />
          <ul className="space-y-3" aria-label="Runs">
            {jobs.map((job) => (
              <RunRow
                key={job.id}
                job={job}
                workflow={workflowById(workflows.data, job.workflow_id)}
                reruns={rerunCounts.get(job.id) ?? 0}
                selection={{ selected: selected.has(job.id), onToggle: () => toggle(job.id) }}
              />
            ))}
          </ul>
          {runs.hasNextPage && (
            <div className="flex justify-center">
              <button type="button" className={buttonClass("secondary")} disabled={runs.isFetchingNextPage} onClick={() => void runs.fetchNextPage()}>
                {runs.isFetchingNextPage && <Spinner />}
                Load more
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
}
