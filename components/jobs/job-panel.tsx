"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { ArrowRight, Ban, RotateCcw, Wifi, WifiOff } from "lucide-react";
import { ApiClientError, apiFetch, errorMessage } from "@/components/api/client";
import type { ExecutionDetails, JobActionResponse } from "@/components/api/types";
import { isActiveStatus, type JobView } from "@/components/jobs/job-state";
import { resultVideo } from "@/components/jobs/media";
import { ProgressAnnouncer } from "@/components/jobs/progress-announcer";
import { ResultVideo } from "@/components/jobs/result-video";
import { ProgressBar, StepTracker } from "@/components/jobs/step-tracker";
import { jobQueryKey, runsQueryKey, useJobLive, type StreamState } from "@/components/jobs/use-job-live";
import { RunFacts } from "@/components/runs/run-facts";
import { ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { StatusBadge } from "@/components/ui/status-badge";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";
import { useWorkflows, workflowById } from "@/components/workflows/use-workflows";

function StreamIndicator({ state }: { state: StreamState }) {
  if (state === "ended") return null;
  const look = {
    connecting: { text: "Connecting…", className: "text-slate-400", Icon: Wifi },
    live: { text: "Live", className: "text-emerald-300", Icon: Wifi },
    reconnecting: { text: "Reconnecting…", className: "text-amber-300", Icon: WifiOff },
    offline: { text: "Offline, checking periodically", className: "text-amber-300", Icon: WifiOff },
  }[state];
  return (
    <span className={`inline-flex items-center gap-1 text-xs ${look.className}`} data-testid="stream-state" data-state={state}>
      <look.Icon aria-hidden className="size-3.5" />
      {look.text}
    </span>
  );
}

function JobActions({ jobId, view, onRetried }: { jobId: string; view: JobView; onRetried: () => void }) {
  const queryClient = useQueryClient();
  const action = useMutation({
    mutationFn: (kind: "retry" | "cancel") => apiFetch<JobActionResponse>(`/workflows/${kind}/${jobId}`, { method: "POST" }),
    onSuccess: (_data, kind) => {
      void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      if (kind === "retry") onRetried();
    },
  });
  const canRetry = view.status === "failed" || view.status === "pending_retry" || view.status === "canceled";
  const canCancel = isActiveStatus(view.status);
  if (!canRetry && !canCancel) return null;
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap gap-2">
        {canRetry && (
          <button type="button" className={buttonClass("primary")} disabled={action.isPending} onClick={() => action.mutate("retry")}>
            {action.isPending && action.variables === "retry" ? <Spinner /> : <RotateCcw aria-hidden className="size-4" />}
            {view.status === "pending_retry" ? "Retry now" : "Retry"}
          </button>
        )}
        {canCancel && (
          <button type="button" className={buttonClass("danger")} disabled={action.isPending} onClick={() => action.mutate("cancel")}>
            {action.isPending && action.variables === "cancel" ? <Spinner /> : <Ban aria-hidden className="size-4" />}
            Cancel run
          </button>
        )}
      </div>
      {action.isError && (
        <p role="alert" className="text-sm text-red-300">
          {errorMessage(action.error)}
        </p>
      )}
    </div>
  );
}

export function JobPanelSkeleton() {
  return (
    <div className={`${cardClass} space-y-5 p-5`} aria-busy="true" aria-label="Loading the run">
      <Skeleton className="h-6 w-1/2" />
      <Skeleton className="h-1.5 w-full" />
      {[0, 1, 2].map((index) => (
        <div key={index} className="flex gap-4">
          <Skeleton className="size-8 shrink-0 rounded-full" />
          <Skeleton className="h-10 flex-1" />
        </div>
      ))}
    </div>
  );
}

function loadError(error: unknown) {
  if (error instanceof ApiClientError && error.status === 404) {
    return <ErrorState title="Run not found" message="This run does not exist, or it belongs to another account." />;
  }
  if (error instanceof ApiClientError && error.status === 401) {
    return (
      <ErrorState
        title="You are signed out"
        message="Sign in again to follow this run."
        action={
          <Link href="/signin" className={buttonClass("secondary", "sm")}>
            Sign in
          </Link>
        }
      />
    );
  }
  return <ErrorState title="The run could not be loaded" message={errorMessage(error)} />;
}

/**
 * A run, live: status, overall progress, the step tracker, the result video and the actions that
 * apply. `detailed` adds the checkpoints, inputs and attempts (the run history's detail page).
 */
export function JobPanel({ jobId, detailed = false, onNewRun }: { jobId: string; detailed?: boolean; onNewRun?: () => void }) {
  const { details, view, stream, resume } = useJobLive(jobId);
  const workflows = useWorkflows();
  if (details.isPending) return <JobPanelSkeleton />;
  if (details.isError && !details.data) return loadError(details.error);
  const data: ExecutionDetails = details.data;
  const current = view!;
  const workflow = workflowById(workflows.data, data.job.workflow_id);
  const video = current.status === "completed" ? resultVideo(current.result) : null;
  const progressTone = ({ completed: "emerald", pending_retry: "amber", failed: "red", canceled: "slate", queued: "sky", running: "sky" } as const)[current.status];

  return (
    <div className="space-y-4" data-testid="job-panel" data-job-id={jobId} data-status={current.status}>
      <div className={detailed ? "grid items-start gap-4 lg:grid-cols-2" : "space-y-4"}>
        <section className={`${cardClass} space-y-5 p-5`} aria-labelledby={`run-title-${jobId}`}>
          <header className="space-y-3">
            <div className="flex flex-wrap items-center justify-between gap-2">
              <h2 id={`run-title-${jobId}`} className="flex min-w-0 items-center gap-2 text-base font-semibold text-slate-100">
                <span aria-hidden>{workflow?.icon ?? "⚙️"}</span>
                <span className="truncate">{workflow?.name ?? data.job.workflow_id}</span>
              </h2>
              <div className="flex items-center gap-3">
                <StreamIndicator state={stream} />
                <StatusBadge status={current.status} />
              </div>
            </div>
            <ProgressBar value={current.progress} label="Overall progress" tone={progressTone} />
            <p className="flex flex-wrap justify-between gap-2 text-xs text-slate-400">
              <span>
                Started <RelativeTime iso={data.job.created_at} />
                {data.job.attempts > 1 && <span> · {data.job.attempts} attempts</span>}
              </span>
              <span className="tabular-nums">{current.progress}%</span>
            </p>
          </header>

          <StepTracker steps={data.steps} view={current} checkpoints={data.checkpoints} />
          <ProgressAnnouncer view={current} steps={data.steps} />

          {current.status === "failed" && current.error && !Object.values(current.steps).some((step) => step.status === "failed") && (
            <ErrorState title="The run failed" message={current.error} />
          )}

          <div className="flex flex-wrap items-center justify-between gap-3">
            <JobActions jobId={jobId} view={current} onRetried={resume} />
            <div className="flex flex-wrap gap-2">
              {onNewRun && !isActiveStatus(current.status) && (
                <button type="button" className={buttonClass("secondary")} onClick={onNewRun}>
                  Start a new run
                </button>
              )}
              {!detailed && (
                <Link href={`/runs/${jobId}`} className={buttonClass("ghost")}>
                  Run details
                  <ArrowRight aria-hidden className="size-4" />
                </Link>
              )}
            </div>
          </div>
        </section>

        {video && (
          <div className={`${cardClass} p-5`}>
            <ResultVideo url={video} jobId={jobId} />
          </div>
        )}
      </div>

      {detailed && <RunFacts details={data} view={current} workflow={workflow} />}
    </div>
  );
}
