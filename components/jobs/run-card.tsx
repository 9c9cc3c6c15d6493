"use client";

import Link from "next/link";
import { ArrowRight, WifiOff, Wifi } from "lucide-react";
import type { ExecutionDetails, Workflow } from "@/components/api/types";
import { attemptLabel } from "@/lib/jobs/attempts";
import { ApprovalCard } from "@/components/jobs/approval-card";
import { CandidatesCard } from "@/components/jobs/candidates-card";
import { aspectOf } from "@/components/jobs/media";
import { JobActions } from "@/components/jobs/job-actions";
import { formatEta, isActiveStatus, viewAttempts, viewQueue, type JobView } from "@/components/jobs/job-state";
import type { MediaContext } from "@/components/jobs/media-viewer";
import type { RetryPress } from "@/components/jobs/parked-notice";
import { NotifyButton } from "@/components/jobs/run-attention";
import { ProgressBar, StepTracker } from "@/components/jobs/step-tracker";
import type { StreamState } from "@/components/jobs/use-job-live";
import { ErrorState } from "@/components/ui/states";
import { StatusBadge } from "@/components/ui/status-badge";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";
import { WorkflowIcon } from "@/components/ui/workflow-icon";

/** Only what needs attention: a live stream is the normal case, and connecting is too brief to show. */
function StreamIndicator({ state }: { state: StreamState }) {
  if (state === "ended" || state === "connecting") return null;
  const look = {
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

const PROGRESS_TONE = { completed: "emerald", pending_retry: "amber", awaiting_approval: "amber", awaiting_input: "amber", failed: "red", canceled: "slate", queued: "sky", running: "sky" } as const;

/** A run that has not produced its result: header, live progress, every step in full, and the actions. */
export function RunCard({
  data,
  view,
  workflow,
  stream,
  media,
  retried,
  onRetried,
  runAgain,
  detailsHref,
}: {
  data: ExecutionDetails;
  view: JobView;
  workflow: Workflow | undefined;
  stream: StreamState;
  media: MediaContext;
  retried: RetryPress | null;
  onRetried: (press: RetryPress) => void;
  runAgain: { onClick?: (() => void) | undefined; href: string };
  detailsHref: string | undefined;
}) {
  const jobId = data.job.id;
  const attempts = viewAttempts(view, data);
  const failedStep = Object.values(view.steps).some((step) => step.status === "failed");
  const queue = viewQueue(view, data);
  return (
    <section className={`${cardClass} space-y-5 p-4 sm:p-5`} aria-labelledby={`run-title-${jobId}`}>
      <header className="space-y-3">
        <div className="flex flex-wrap items-center justify-between gap-2">
          <h2 id={`run-title-${jobId}`} className="flex min-w-0 items-center gap-2 text-base font-semibold text-slate-100">
            <WorkflowIcon icon={workflow?.icon} className="size-5 text-amber-300" />
            <span className="truncate">{workflow?.name ?? data.job.workflow_id}</span>
          </h2>
          <div className="flex items-center gap-3">
            <StreamIndicator state={stream} />
            <StatusBadge status={view.status} />
          </div>
        </div>
        <ProgressBar value={view.progress} label="Overall progress" tone={PROGRESS_TONE[view.status]} />
        <div className="flex flex-wrap items-center justify-between gap-2 text-xs text-slate-300">
          <span>
            Started <RelativeTime iso={data.job.created_at} />
            {view.status === "running" && attempts.made > 1 && <span data-testid="run-attempt"> · {attemptLabel(attempts.made, attempts.limit)}</span>}
            {view.status === "running" && queue.etaSeconds !== null && <span data-testid="run-eta"> · {formatEta(queue.etaSeconds)} left</span>}
          </span>
          <span className="flex items-center gap-3">
            {isActiveStatus(view.status) && <NotifyButton />}
            <span className="tabular-nums">{view.progress}%</span>
          </span>
        </div>
      </header>

      {view.status === "awaiting_approval" && view.awaiting && <ApprovalCard jobId={jobId} awaiting={view.awaiting} steps={data.steps} media={media} />}
      {view.status === "awaiting_input" && view.picking && <CandidatesCard jobId={jobId} picking={view.picking} steps={data.steps} aspect={aspectOf(data.job.input_file)} />}

      <StepTracker steps={data.steps} view={view} checkpoints={data.checkpoints} media={media} parked={{ attempts, retried }} queue={queue} />

      {view.status === "failed" && view.error && !failedStep && <ErrorState title="The run failed" message={view.error} />}

      <div className="flex flex-wrap items-center justify-between gap-3">
        <JobActions jobId={jobId} view={view} onRetried={onRetried} runAgain={runAgain} />
        {detailsHref && (
          <Link href={detailsHref} className={buttonClass("ghost")}>
            Run details
            <ArrowRight aria-hidden className="size-4" />
          </Link>
        )}
      </div>
    </section>
  );
}
