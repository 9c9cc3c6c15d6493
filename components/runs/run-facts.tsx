"use client";

import type { ReactNode } from "react";
import type { ExecutionDetails, Workflow } from "@/components/api/types";
import { stepView, type JobView } from "@/components/jobs/job-state";
import { cardClass } from "@/components/ui/styles";
import { formatDateTime } from "@/components/ui/time";

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

function Fact({ term, children }: { term: string; children: ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs uppercase tracking-wide text-slate-500">{term}</dt>
      <dd className="mt-0.5 break-words text-sm text-slate-200">{children}</dd>
    </div>
  );
}

function Json({ value }: { value: unknown }) {
  return (
    <pre className="mt-1 max-h-48 overflow-auto rounded-lg bg-slate-950/80 p-3 font-mono text-xs leading-relaxed text-slate-300">
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

function When({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span className="text-slate-500">—</span>;
  return (
    <time dateTime={iso} suppressHydrationWarning>
      {formatDateTime(iso)}
    </time>
  );
}

/** The run detail page's record: inputs, attempts, errors, and each step's checkpoint. */
export function RunFacts({ details, view, workflow }: { details: ExecutionDetails; view: JobView; workflow: Workflow | undefined }) {
  const { job, execution, checkpoints, steps } = details;
  const inputLabel = (name: string) => workflow?.inputs.find((input) => input.name === name)?.label ?? name;
  return (
    <div className="grid gap-4 lg:grid-cols-2">
      <section className={`${cardClass} p-5`} aria-labelledby="run-inputs">
        <h2 id="run-inputs" className="text-sm font-semibold text-slate-100">
          Inputs
        </h2>
        <dl className="mt-3 space-y-3">
          {job.input_file && (
            <Fact term="Image">
              {job.input_file.filename} · {job.input_file.content_type} · {job.input_file.width}×{job.input_file.height} · {formatBytes(job.input_file.size)}
            </Fact>
          )}
          {Object.entries(job.inputs).map(([name, value]) => (
            <Fact key={name} term={inputLabel(name)}>
              {value || <span className="text-slate-500">(empty)</span>}
            </Fact>
          ))}
        </dl>
      </section>

      <section className={`${cardClass} p-5`} aria-labelledby="run-attempts">
        <h2 id="run-attempts" className="text-sm font-semibold text-slate-100">
          Attempts and errors
        </h2>
        <dl className="mt-3 grid grid-cols-2 gap-3">
          <Fact term="Runs started">{job.attempts}</Fact>
          <Fact term="Automatic retries">
            {execution.retry_count} of {Math.max(0, execution.max_retries - 1)}
          </Fact>
          <Fact term="Created">
            <When iso={job.created_at} />
          </Fact>
          <Fact term="Finished">
            <When iso={job.completed_at} />
          </Fact>
          {job.next_retry_at && (
            <Fact term="Next automatic retry">
              <When iso={job.next_retry_at} />
            </Fact>
          )}
          <Fact term="Job id">
            <span className="font-mono text-xs">{job.id}</span>
          </Fact>
        </dl>
        {execution.last_error && (
          <div className="mt-4 rounded-lg border border-slate-800 bg-slate-950/60 p-3 text-sm">
            <p className="text-xs uppercase tracking-wide text-slate-500">
              Last error{execution.last_error_class && ` · ${execution.last_error_class}`}
              {execution.last_error_reason && ` · ${execution.last_error_reason}`}
            </p>
            <p className="mt-1 break-words text-slate-300">{execution.last_error}</p>
          </div>
        )}
      </section>

      <section className={`${cardClass} p-5 lg:col-span-2`} aria-labelledby="run-checkpoints">
        <h2 id="run-checkpoints" className="text-sm font-semibold text-slate-100">
          Checkpoints
        </h2>
        <p className="mt-1 text-xs text-slate-400">What each step saved. A retry resumes after the last completed one.</p>
        <ol className="mt-4 space-y-3">
          {steps.map((step, index) => {
            const checkpoint = checkpoints[String(index)];
            return (
              <li key={step.name} className="rounded-xl border border-slate-800 p-4" data-testid={`checkpoint-${index}`}>
                <div className="flex flex-wrap items-baseline justify-between gap-2">
                  <p className="font-medium text-slate-100">
                    {index + 1}. {step.label} <span className="font-mono text-xs text-slate-500">{step.name}</span>
                  </p>
                  <p className="font-mono text-xs text-slate-400">{checkpoint?.status ?? stepView(view, index).status}</p>
                </div>
                {checkpoint ? (
                  <dl className="mt-3 grid gap-3 sm:grid-cols-2">
                    <Fact term="Started">
                      <When iso={checkpoint.started_at} />
                    </Fact>
                    <Fact term="Completed">
                      <When iso={checkpoint.completed_at} />
                    </Fact>
                    {checkpoint.error && (
                      <div className="sm:col-span-2">
                        <Fact term={`Error${checkpoint.error_class ? ` (${checkpoint.error_class}${checkpoint.error_reason ? `, ${checkpoint.error_reason}` : ""})` : ""}`}>
                          {checkpoint.error}
                        </Fact>
                      </div>
                    )}
                    {checkpoint.output && (
                      <div className="min-w-0 sm:col-span-2">
                        <dt className="text-xs uppercase tracking-wide text-slate-500">Output</dt>
                        <dd>
                          <Json value={checkpoint.output} />
                        </dd>
                      </div>
                    )}
                    {checkpoint.state && (
                      <div className="min-w-0 sm:col-span-2">
                        <dt className="text-xs uppercase tracking-wide text-slate-500">Saved state</dt>
                        <dd>
                          <Json value={checkpoint.state} />
                        </dd>
                      </div>
                    )}
                  </dl>
                ) : (
                  <p className="mt-2 text-sm text-slate-500">Not reached yet.</p>
                )}
              </li>
            );
          })}
        </ol>
      </section>
    </div>
  );
}
