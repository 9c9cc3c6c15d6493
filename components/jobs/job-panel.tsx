"use client";

import Link from "next/link";
import { useEffect, useState } from "react";
import { ApiClientError, errorMessage } from "@/components/api/client";
import type { ExecutionDetails } from "@/components/api/types";
import type { JobStatus } from "@/lib/contract/events";
import { stepView } from "@/components/jobs/job-state";
import { mediaOf, runAspect, stepMediaOf, type StepMedia } from "@/components/jobs/media";
import type { MediaContext } from "@/components/jobs/media-viewer";
import type { RetryPress } from "@/components/jobs/parked-notice";
import { ProgressAnnouncer } from "@/components/jobs/progress-announcer";
import { ResultCard } from "@/components/jobs/result-card";
import { useRunAttention } from "@/components/jobs/run-attention";
import { RunCard } from "@/components/jobs/run-card";
import { StepStrip } from "@/components/jobs/step-strip";
import { useJobLive } from "@/components/jobs/use-job-live";
import { RunFacts } from "@/components/runs/run-facts";
import { RunTimeline } from "@/components/runs/run-timeline";
import { WebhookDeliveries } from "@/components/runs/webhook-deliveries";
import { runPrompt } from "@/components/runs/run-title";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { formatClock } from "@/components/ui/time";
import { useWorkflows, workflowById } from "@/components/workflows/use-workflows";

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

export interface JobPanelProps {
  jobId: string;
  /** The run's page: adds its inputs, outputs, attempts and checkpoints. */
  detailed?: boolean;
  /** Put this run's inputs and image back into the form (the runner page); elsewhere Run again links there. */
  onRunAgain?: ((details: ExecutionDetails) => void) | undefined;
  /** Put an output image into the form (the runner page). */
  onUseAsInput?: ((media: StepMedia) => void) | undefined;
  /** Tells the page how the run is going (the runner's primary action depends on it). */
  onStatus?: ((status: JobStatus) => void) | undefined;
}

/**
 * A run, live. Once it has a result, the result comes first and large, with the steps as a compact
 * strip under it; until then, every step in full with its progress, outputs and what a pause means.
 */
export function JobPanel({ jobId, detailed = false, onRunAgain, onUseAsInput, onStatus }: JobPanelProps) {
  const { details, view, stream, resume } = useJobLive(jobId);
  const workflows = useWorkflows();
  const [retried, setRetried] = useState<RetryPress | null>(null);
  const data = details.data;
  const workflow = data ? workflowById(workflows.data, data.job.workflow_id) : undefined;
  const status = view?.status;
  useEffect(() => {
    if (status) onStatus?.(status);
  }, [status, onStatus]);
  useRunAttention({
    status: view?.status ?? "queued",
    progress: view?.progress ?? 0,
    stepLabel: data?.steps[view?.currentStep ?? 0]?.label,
    name: workflow?.name ?? "Run",
  });

  if (details.isPending) return <JobPanelSkeleton />;
  if (!data || !view) return loadError(details.error);

  const media: MediaContext = {
    jobId,
    all: stepMediaOf(data.steps, data.steps.map((_step, index) => stepView(view, index).output)),
    aspect: runAspect(data.job),
    onUseAsInput,
  };
  const resultMedia = view.status === "completed" ? mediaOf(view.result)[0] : undefined;
  const result: StepMedia | undefined = resultMedia && { step: data.steps.length - 1, stepLabel: "Result", ...resultMedia };
  const runAgain = { onClick: onRunAgain && (() => onRunAgain(data)), href: `/workflows?from=${jobId}` };
  const detailsHref = detailed ? undefined : `/runs/${jobId}`;
  const onRetried = (press: RetryPress) => {
    setRetried({ at: formatClock(press.at), afterEventId: press.afterEventId });
    resume();
  };

  return (
    <div className="space-y-4" data-testid="job-panel" data-job-id={jobId} data-status={view.status}>
      {result ? (
        <>
          <ResultCard
            jobId={jobId}
            result={result}
            // The last image a step made (not the upload), e.g. Text to Video's generated frame.
            edited={media.all.filter((item) => item.kind === "image" && data.steps[item.step]?.type !== "input").at(-1)}
            aspect={media.aspect}
            // The run's page titles it by its prompt already.
            caption={detailed ? undefined : runPrompt(data.job, workflow)}
            actions={{ onRunAgain: runAgain.onClick, runAgainHref: runAgain.href, onUseAsInput, detailsHref }}
          />
          <StepStrip steps={data.steps} view={view} checkpoints={data.checkpoints} media={media} />
        </>
      ) : (
        <RunCard
          data={data}
          view={view}
          workflow={workflow}
          stream={stream}
          media={media}
          retried={retried}
          onRetried={onRetried}
          runAgain={runAgain}
          detailsHref={detailsHref}
        />
      )}
      <ProgressAnnouncer view={view} steps={data.steps} />
      {detailed && <RunTimeline details={data} />}
      {detailed && <RunFacts details={data} view={view} workflow={workflow} aspect={media.aspect} />}
      {detailed && <WebhookDeliveries jobId={jobId} live={!["completed", "failed", "canceled"].includes(view.status)} />}
    </div>
  );
}
