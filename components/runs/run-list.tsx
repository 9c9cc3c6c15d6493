"use client";

import { useInfiniteQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { ChevronRight, History } from "lucide-react";
import type { JobStatus } from "@/lib/contract/events";
import { apiFetch, errorMessage, shouldRetryQuery } from "@/components/api/client";
import type { Job, ListJobsResponse } from "@/components/api/types";
import { isActiveStatus } from "@/components/jobs/job-state";
import { mediaSrc, resultVideo } from "@/components/jobs/media";
import { runsQueryKey } from "@/components/jobs/use-job-live";
import { EmptyState, ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { StatusBadge } from "@/components/ui/status-badge";
import { buttonClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";
import { useWorkflows, workflowById } from "@/components/workflows/use-workflows";

const PAGE_SIZE = 20;
const FILTERS: { id: JobStatus | "all"; label: string }[] = [
  { id: "all", label: "All" },
  { id: "running", label: "Running" },
  { id: "pending_retry", label: "Waiting to retry" },
  { id: "completed", label: "Completed" },
  { id: "failed", label: "Failed" },
  { id: "canceled", label: "Canceled" },
];

function Thumbnail({ job, icon }: { job: Job; icon: string }) {
  const video = resultVideo(job.result);
  return (
    <span className="flex aspect-video w-24 shrink-0 items-center justify-center overflow-hidden rounded-lg border border-slate-800 bg-slate-950 text-2xl sm:w-32">
      {video ? (
        // The first frame, as a thumbnail: only metadata and one frame are fetched.
        <video src={`${mediaSrc(video)}#t=0.1`} muted playsInline preload="metadata" className="size-full object-cover" aria-hidden tabIndex={-1} />
      ) : (
        <span aria-hidden>{icon}</span>
      )}
    </span>
  );
}

function RunRow({ job, name, icon }: { job: Job; name: string; icon: string }) {
  return (
    <li>
      <Link
        href={`/runs/${job.id}`}
        data-testid="run-row"
        data-job-id={job.id}
        className="group flex items-center gap-4 rounded-2xl border border-slate-800 bg-slate-900/60 p-3 transition-colors hover:border-slate-600 hover:bg-slate-900"
      >
        <Thumbnail job={job} icon={icon} />
        <span className="min-w-0 flex-1 space-y-1">
          <span className="flex flex-wrap items-center gap-2">
            <span className="truncate font-medium text-slate-100">{name}</span>
            <StatusBadge status={job.status} />
          </span>
          <span className="block text-xs text-slate-400">
            <RelativeTime iso={job.created_at} />
            {job.input_file && <span className="hidden sm:inline"> · {job.input_file.filename}</span>}
            {isActiveStatus(job.status) && <span> · {job.progress}%</span>}
            {job.attempts > 1 && <span> · {job.attempts} attempts</span>}
          </span>
          {job.error && job.status !== "completed" && <span className="block truncate text-xs text-red-300/80">{job.error}</span>}
        </span>
        <ChevronRight aria-hidden className="size-5 shrink-0 text-slate-600 group-hover:text-slate-300" />
      </Link>
    </li>
  );
}

/** The signed-in user's runs (GET /jobs), newest first, filterable by status, refreshed while any is active. */
export function RunList() {
  const [filter, setFilter] = useState<JobStatus | "all">("all");
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
  const jobs = runs.data?.pages.flatMap((page) => page.jobs) ?? [];

  return (
    <div className="space-y-4">
      <div role="group" aria-label="Filter by status" className="-mx-1 flex gap-2 overflow-x-auto px-1 pb-1">
        {FILTERS.map((option) => (
          <button
            key={option.id}
            type="button"
            aria-pressed={filter === option.id}
            onClick={() => setFilter(option.id)}
            className={`inline-flex h-8 shrink-0 items-center rounded-full border px-3 text-sm transition-colors ${
              filter === option.id ? "border-amber-400/70 bg-amber-500/15 text-amber-100" : "border-slate-700 text-slate-300 hover:border-slate-500 hover:text-white"
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
          <ul className="space-y-3" aria-label="Runs">
            {jobs.map((job) => {
              const workflow = workflowById(workflows.data, job.workflow_id);
              return <RunRow key={job.id} job={job} name={workflow?.name ?? job.workflow_id} icon={workflow?.icon ?? "⚙️"} />;
            })}
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
