"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRef, useState, type FormEvent, type ReactNode } from "react";
import { Play, Workflow as WorkflowIcon } from "lucide-react";
import { apiFetch, errorMessage } from "@/components/api/client";
import type { ExecuteResponse, Workflow } from "@/components/api/types";
import { JobPanel } from "@/components/jobs/job-panel";
import { StepTracker } from "@/components/jobs/step-tracker";
import { runsQueryKey } from "@/components/jobs/use-job-live";
import { EmptyState, ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { buttonClass, cardClass } from "@/components/ui/styles";
import { ImageDropzone, type PickedImage } from "@/components/workflows/image-dropzone";
import { useWorkflows } from "@/components/workflows/use-workflows";
import { WorkflowInputs } from "@/components/workflows/workflow-inputs";
import { WorkflowPicker } from "@/components/workflows/workflow-picker";

function defaultsOf(workflow: Workflow): Record<string, string> {
  return Object.fromEntries(workflow.inputs.map((input) => [input.name, input.default ?? ""]));
}

/** Keeps the page's URL in step with what is shown, so a reload (or a shared link) comes back to it. */
function syncUrl(workflowId: string | null, jobId: string | null) {
  const params = new URLSearchParams();
  if (workflowId) params.set("workflow", workflowId);
  if (jobId) params.set("job", jobId);
  const query = params.toString();
  window.history.replaceState(window.history.state, "", `/workflows${query ? `?${query}` : ""}`);
}

function Section({ number, title, children }: { number: number; title: string; children: ReactNode }) {
  return (
    <section className="space-y-3" aria-labelledby={`section-${number}`}>
      <h2 id={`section-${number}`} className="flex items-center gap-2 text-sm font-semibold text-slate-100">
        <span aria-hidden className="flex size-6 items-center justify-center rounded-full bg-slate-800 text-xs text-slate-300">
          {number}
        </span>
        {title}
      </h2>
      {children}
    </section>
  );
}

function PickerSkeleton() {
  return (
    <div className="space-y-3" aria-busy="true" aria-label="Loading workflows">
      <Skeleton className="h-28 w-full rounded-2xl" />
    </div>
  );
}

/**
 * The AI Workflow Engine page: pick a workflow, add an image, adjust the inputs, Execute, and watch
 * the run in the step tracker. The run's id goes into the URL, so reloading resumes following it.
 */
export function WorkflowRunner({ initialWorkflowId, initialJobId }: { initialWorkflowId: string | null; initialJobId: string | null }) {
  const workflows = useWorkflows();
  const queryClient = useQueryClient();
  const [chosenWorkflowId, setWorkflowId] = useState<string | null>(initialWorkflowId);
  const [jobId, setJobId] = useState<string | null>(initialJobId);
  const [image, setImage] = useState<PickedImage | null>(null);
  const [valuesByWorkflow, setValuesByWorkflow] = useState<Record<string, Record<string, string>>>({});
  const runRef = useRef<HTMLDivElement>(null);

  const list = workflows.data;
  // With one workflow installed there is nothing to choose; an unknown id from the URL is dropped.
  const workflowId = !list || (chosenWorkflowId && list.some((workflow) => workflow.id === chosenWorkflowId)) ? chosenWorkflowId : list.length === 1 ? list[0]!.id : null;
  const selected = list?.find((workflow) => workflow.id === workflowId);

  const values = selected ? (valuesByWorkflow[selected.id] ?? defaultsOf(selected)) : {};

  const execute = useMutation({
    mutationFn: (input: { workflow: Workflow; file: File; values: Record<string, string> }) => {
      const form = new FormData();
      form.set("workflow_id", input.workflow.id);
      for (const [name, value] of Object.entries(input.values)) form.set(name, value);
      form.set("file", input.file, input.file.name);
      return apiFetch<ExecuteResponse>("/workflows/execute", { method: "POST", body: form });
    },
    onSuccess: (response, input) => {
      setJobId(response.job_id);
      syncUrl(input.workflow.id, response.job_id);
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      // Focus the run for screen readers; narrow screens show it below the form, so bring it into view.
      const run = runRef.current;
      run?.focus({ preventScroll: true });
      if (run && window.matchMedia("(max-width: 1023px)").matches) run.scrollIntoView({ behavior: "smooth", block: "start" });
    },
  });

  const chooseWorkflow = (id: string) => {
    setWorkflowId(id);
    execute.reset();
    if (!jobId) syncUrl(id, null);
  };
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (!selected || !image?.ok) return;
    execute.mutate({ workflow: selected, file: image.file, values });
  };
  const newRun = () => {
    setJobId(null);
    execute.reset();
    syncUrl(workflowId, null);
  };

  const missing = !selected ? "Choose a workflow first." : !image ? "Add an image to run the workflow." : !image.ok ? (image.error ? "Fix the image first." : "Checking the image…") : null;

  return (
    <div className="grid items-start gap-8 lg:grid-cols-[minmax(0,5fr)_minmax(0,6fr)]">
      <form onSubmit={onSubmit} className="space-y-8" aria-label="New run" noValidate>
        <Section number={1} title="Choose a workflow">
          {workflows.isPending ? (
            <PickerSkeleton />
          ) : workflows.isError ? (
            <ErrorState
              title="The workflows could not be loaded"
              message={errorMessage(workflows.error)}
              action={
                <button type="button" className={buttonClass("secondary", "sm")} onClick={() => void workflows.refetch()}>
                  Try again
                </button>
              }
            />
          ) : workflows.data.length === 0 ? (
            <EmptyState icon={<WorkflowIcon className="size-6" />} title="No workflows installed">
              Add a folder with a <code>config.json</code> and a <code>workflow.ts</code> under <code>workflows/</code>, then rebuild.
            </EmptyState>
          ) : (
            <WorkflowPicker workflows={workflows.data} value={workflowId} onChange={chooseWorkflow} />
          )}
        </Section>

        {selected && (
          <>
            <Section number={2} title="Add an image">
              <ImageDropzone accepts={selected.accepts} value={image} onChange={setImage} />
            </Section>
            <Section number={3} title="Describe the result">
              <WorkflowInputs
                inputs={selected.inputs}
                values={values}
                onChange={(name, value) => setValuesByWorkflow((all) => ({ ...all, [selected.id]: { ...values, [name]: value } }))}
              />
            </Section>
            <div className="space-y-2">
              <button type="submit" className={`${buttonClass("primary", "lg")} w-full`} disabled={missing !== null || execute.isPending} aria-describedby="execute-hint">
                {execute.isPending ? <Spinner className="size-5" /> : <Play aria-hidden className="size-5" />}
                {execute.isPending ? "Uploading…" : "Execute"}
              </button>
              <p id="execute-hint" className="min-h-5 text-center text-xs text-slate-500">
                {missing ?? `Runs ${selected.steps.length} steps; you can leave this page and find the run under Runs.`}
              </p>
              {execute.isError && (
                <div role="alert" className="rounded-lg border border-red-500/30 bg-red-500/10 p-3 text-sm text-red-100">
                  {errorMessage(execute.error)}
                </div>
              )}
            </div>
          </>
        )}
      </form>

      <div ref={runRef} tabIndex={-1} aria-label="Run" className="space-y-4 outline-none lg:sticky lg:top-6">
        {jobId ? (
          <JobPanel key={jobId} jobId={jobId} onNewRun={newRun} />
        ) : selected ? (
          <section className={`${cardClass} space-y-5 p-5`} aria-labelledby="preview-title">
            <div>
              <h2 id="preview-title" className="text-base font-semibold text-slate-100">
                Ready when you are
              </h2>
              <p className="mt-1 text-sm text-slate-400">Press Execute and each step lights up here as it runs.</p>
            </div>
            <StepTracker steps={selected.steps} view={null} />
          </section>
        ) : (
          <EmptyState icon={<WorkflowIcon className="size-6" />} title="No run yet">
            Choose a workflow to see its steps.
          </EmptyState>
        )}
      </div>
    </div>
  );
}
