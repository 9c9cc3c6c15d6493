"use client";

import { useState, type ReactNode } from "react";
import { RotateCw } from "lucide-react";
import type { Checkpoint, CheckpointStatus } from "@/lib/contract/events";
import type { ExecutionDetails, Workflow } from "@/components/api/types";
import { attemptLabel } from "@/lib/jobs/attempts";
import { viewAttempts, type JobView } from "@/components/jobs/job-state";
import { RerunForm } from "@/components/runs/rerun-form";
import { RunLineage } from "@/components/runs/run-lineage";
import { runModels } from "@/components/runs/run-models";
import { FramedImage } from "@/components/ui/media-frame";
import { formatUsd } from "@/components/ui/money";
import { statusLabel } from "@/components/ui/status-badge";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { formatDuration, formatMoment, useNow } from "@/components/ui/time";

const CHECKPOINT_STATUS: Record<CheckpointStatus, string> = {
  running: "Running",
  completed: "Done",
  failed_retryable: "Paused, will retry",
  failed: "Failed",
  canceled: "Canceled",
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-slate-400">{term}</dt>
      <dd className="mt-0.5 break-words text-sm text-slate-200">{children}</dd>
    </div>
  );
}

/** A time at the precision it needs (seconds today, the date otherwise), rendered after hydration. */
function When({ iso }: { iso: string | null | undefined }) {
  const now = useNow(60_000);
  if (!iso) return <span className="text-slate-400">—</span>;
  return (
    <time dateTime={iso} suppressHydrationWarning>
      {now === null ? "" : formatMoment(iso, now)}
    </time>
  );
}

function took(from: string | null | undefined, to: string | null | undefined): string | null {
  return from && to ? formatDuration(new Date(to).getTime() - new Date(from).getTime()) : null;
}

function RawJson({ label, value }: { label: string; value: unknown }) {
  return (
    <details className="mt-3">
      <summary className="cursor-pointer text-xs text-slate-300">{label}</summary>
      <pre className="mt-1 max-h-48 overflow-auto rounded-lg bg-slate-950 p-3 font-mono text-xs leading-relaxed text-slate-300">{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

/** What "Rerun from here" needs: the run's workflow and inputs. */
interface RerunFrom {
  jobId: string;
  workflow: Workflow;
  inputs: Record<string, string>;
  /** The run was started with an image (the rerun keeps it, and any extra ones). */
  hasImage: boolean;
}

type StepDetails = ExecutionDetails["steps"][number];

function stepCost(step: StepDetails): string {
  const estimated = step.estimated_usd === null ? "unknown" : formatUsd(step.estimated_usd);
  return step.actual_usd === null ? `estimated ${estimated}` : `${formatUsd(step.actual_usd)} (estimated ${estimated})`;
}

function StepRecord({ index, step, checkpoint, rerunFrom }: { index: number; step: StepDetails; checkpoint: Checkpoint | undefined; rerunFrom: RerunFrom | undefined }) {
  const { label } = step;
  const [rerunning, setRerunning] = useState(false);
  return (
    <li className="rounded-xl border border-slate-800 p-4" data-testid={`checkpoint-${index}`}>
      <div className="flex flex-wrap items-baseline justify-between gap-2">
        <p className="font-medium text-slate-100">
          {index + 1}. {label}
        </p>
        <div className="flex flex-wrap items-center gap-3">
          <p className="text-sm text-slate-300">{checkpoint ? CHECKPOINT_STATUS[checkpoint.status] : "Not reached yet"}</p>
          {rerunFrom && !rerunning && (
            <button type="button" className={buttonClass("secondary", "sm")} onClick={() => setRerunning(true)} aria-label={`Rerun from here: ${label}`}>
              <RotateCw aria-hidden className="size-4" />
              Rerun from here
            </button>
          )}
        </div>
      </div>
      {rerunFrom && rerunning && (
        <RerunForm jobId={rerunFrom.jobId} fromStep={index} stepLabel={label} workflow={rerunFrom.workflow} inputs={rerunFrom.inputs} hasImage={rerunFrom.hasImage} onClose={() => setRerunning(false)} />
      )}
      {checkpoint && (
        <>
          <dl className="mt-3 grid gap-3 sm:grid-cols-4">
            <Fact term="Started">
              <When iso={checkpoint.started_at} />
            </Fact>
            <Fact term="Finished">
              <When iso={checkpoint.completed_at} />
            </Fact>
            <Fact term="Took">{took(checkpoint.started_at, checkpoint.completed_at) ?? "—"}</Fact>
            <Fact term="Cost">
              <span data-testid={`step-cost-${index}`}>{stepCost(step)}</span>
            </Fact>
          </dl>
          {checkpoint.error && <p className="mt-3 break-words text-sm text-slate-200">{checkpoint.error}</p>}
          {(checkpoint.output || checkpoint.state) && (
            <RawJson label="Raw data (JSON)" value={{ output: checkpoint.output, state: checkpoint.state, error_class: checkpoint.error_class, error_reason: checkpoint.error_reason }} />
          )}
        </>
      )}
    </li>
  );
}

/**
 * The run page's record, under the run itself (whose outputs show as media, each opening large): its
 * inputs, status, attempts and timing, and what each step saved, raw data behind a disclosure.
 */
export function RunFacts({ details, view, workflow, aspect }: { details: ExecutionDetails; view: JobView; workflow: Workflow | undefined; aspect: number }) {
  const { job, execution, checkpoints, steps } = details;
  const attempts = viewAttempts(view, details);
  // An ended run can be rerun from any step it completed, or from its first incomplete one.
  const firstIncomplete = steps.findIndex((_step, index) => checkpoints[String(index)]?.status !== "completed");
  const ended = view.status === "completed" || view.status === "failed" || view.status === "canceled";
  const rerunLimit = !ended ? -1 : firstIncomplete === -1 ? steps.length - 1 : firstIncomplete;
  const inputLabel = (name: string) => workflow?.inputs.find((input) => input.name === name)?.label ?? name;
  return (
    <div className="space-y-4">
      <RunLineage details={details} />
      <div className="grid gap-4 lg:grid-cols-2">
        <section className={`${cardClass} p-5`} aria-labelledby="run-inputs">
          <h2 id="run-inputs" className="text-sm font-semibold text-slate-100">
            Inputs
          </h2>
          {job.input_file && (
            <div className="mt-3 flex gap-3">
              <FramedImage src={`/jobs/${job.id}/input`} alt={`Input image ${job.input_file.filename}`} aspect={aspect} className="w-32 shrink-0" />
              <p className="min-w-0 break-words text-sm text-slate-300">
                {job.input_file.filename}
                <br />
                {job.input_file.width}×{job.input_file.height} · {formatBytes(job.input_file.size)}
              </p>
            </div>
          )}
          <dl className="mt-3 space-y-3">
            {Object.entries(job.inputs).map(([name, value]) => (
              <Fact key={name} term={inputLabel(name)}>
                {value || <span className="text-slate-400">(empty)</span>}
              </Fact>
            ))}
            {runModels(job, workflow).map((model) => (
              <Fact key={`model-${model.step}`} term={`Model for “${model.stepLabel}”`}>
                <span data-testid={`run-model-${model.step}`}>
                  {model.label}
                  {model.label !== model.model && <span className="text-slate-400"> · {model.model}</span>}
                  {model.isDefault && <span className="text-slate-400"> (default)</span>}
                </span>
              </Fact>
            ))}
          </dl>
        </section>

        <section className={`${cardClass} p-5`} aria-labelledby="run-attempts">
          <h2 id="run-attempts" className="text-sm font-semibold text-slate-100">
            Status and attempts
          </h2>
          <dl className="mt-3 grid grid-cols-2 gap-3">
            <Fact term="Status">{statusLabel(view.status)}</Fact>
            <Fact term="Attempts">
              <span data-testid="detail-attempts">
                {attempts.made} of {attempts.limit}
                {attempts.next !== null && ` · next: ${attemptLabel(attempts.next, attempts.limit)}`}
              </span>
            </Fact>
            <Fact term="Started">
              <When iso={job.created_at} />
            </Fact>
            <Fact term="Finished">
              <When iso={job.completed_at} />
            </Fact>
            {took(job.created_at, job.completed_at) && <Fact term="Took">{took(job.created_at, job.completed_at)}</Fact>}
            <Fact term="Cost">
              <span data-testid="detail-cost">
                {formatUsd(details.cost.actual_usd)} of {formatUsd(details.cost.estimated_usd)} estimated
              </span>
            </Fact>
            {view.status === "pending_retry" && job.next_retry_at && (
              <Fact term="Next automatic try">
                <When iso={job.next_retry_at} />
              </Fact>
            )}
          </dl>
          <p className="mt-3 text-xs text-slate-400">
            An attempt is a try that reached the provider; a run may make {attempts.limit}, and Retry starts a fresh set.
          </p>
          {execution.last_error && view.status !== "completed" && (
            <div className="mt-4 rounded-lg border border-slate-800 bg-slate-950 p-3 text-sm">
              <p className="text-xs font-medium text-slate-400">Last problem</p>
              <p className="mt-1 break-words text-slate-200">{execution.last_error}</p>
            </div>
          )}
          <p className="mt-4 font-mono text-xs text-slate-400">Run {job.id}</p>
        </section>
      </div>

      <section className={`${cardClass} p-5`} aria-labelledby="run-steps">
        <h2 id="run-steps" className="text-sm font-semibold text-slate-100">
          Steps
        </h2>
        <p className="mt-1 text-xs text-slate-400">What each step saved. A retry resumes after the last one done; Rerun from here makes a new run that keeps the steps before.</p>
        <ol className="mt-4 space-y-3">
          {steps.map((step, index) => (
            <StepRecord
              key={step.name}
              index={index}
              step={step}
              checkpoint={checkpoints[String(index)]}
              rerunFrom={index <= rerunLimit && workflow ? { jobId: job.id, workflow, inputs: job.inputs, hasImage: job.input_file !== null } : undefined}
            />
          ))}
        </ol>
      </section>
    </div>
  );
}
