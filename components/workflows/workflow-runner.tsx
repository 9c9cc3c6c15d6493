"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState, type FormEvent } from "react";
import { Workflow as WorkflowGlyph } from "lucide-react";
import type { JobStatus } from "@/lib/contract/events";
import { apiFetch, shouldRetryQuery } from "@/components/api/client";
import type { ExecuteResponse, ExecutionDetails, Workflow } from "@/components/api/types";
import { JobPanel } from "@/components/jobs/job-panel";
import { isActiveStatus } from "@/components/jobs/job-state";
import type { StepMedia } from "@/components/jobs/media";
import { StepTracker } from "@/components/jobs/step-tracker";
import { jobQueryKey, runsQueryKey } from "@/components/jobs/use-job-live";
import { EmptyState } from "@/components/ui/states";
import { cardClass } from "@/components/ui/styles";
import { extraImageInputsOf, extraImagesProblem } from "@/components/workflows/extra-image-inputs";
import { runAgainNote } from "@/components/workflows/refill";
import { DetachedRunNote, RunForm } from "@/components/workflows/run-form";
import { usePasteImage } from "@/components/workflows/use-paste-image";
import { useRunForm } from "@/components/workflows/use-run-form";
import { firstFieldError } from "@/components/workflows/workflow-inputs";
import { appendRunOptions, type RunOptions } from "@/components/workflows/run-options";
import { useWorkflows } from "@/components/workflows/use-workflows";

/** Keeps the page's URL in step with what is shown, so a reload (or a shared link) comes back to it. */
function syncUrl(workflowId: string | null, jobId: string | null) {
  const params = new URLSearchParams();
  if (workflowId) params.set("workflow", workflowId);
  if (jobId) params.set("job", jobId);
  const query = params.toString();
  window.history.replaceState(window.history.state, "", `/workflows${query ? `?${query}` : ""}`);
}

const narrowScreen = () => window.matchMedia("(max-width: 1023px)").matches;

/**
 * The AI Workflow Engine page. The run comes first (on a phone, above the form; on a wide screen,
 * the main column), the form beside or below it. The run's id goes into the URL, and the form is
 * filled from the run the page opens with (?job= after a reload, ?from= for Run again), since the
 * server keeps every run's inputs and image.
 */
export function WorkflowRunner({ initialWorkflowId, initialJobId, fromJobId }: { initialWorkflowId: string | null; initialJobId: string | null; fromJobId: string | null }) {
  const workflows = useWorkflows();
  const queryClient = useQueryClient();
  const form = useRunForm(workflows.data, initialWorkflowId);
  const [jobId, setJobId] = useState<string | null>(initialJobId);
  const [runStatus, setRunStatus] = useState<JobStatus | null>(null);
  const [detachedJobId, setDetachedJobId] = useState<string | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const runRef = useRef<HTMLDivElement>(null);
  const formRef = useRef<HTMLFormElement>(null);
  // Set on the click, before React re-renders the button disabled: a double click submits once.
  const submitting = useRef(false);

  usePasteImage(form.pickFile);

  // Fill the form from the run the page opened with, once its details and the workflows are in.
  const prefillId = fromJobId ?? initialJobId;
  const prefill = useQuery({
    queryKey: jobQueryKey(prefillId ?? "none"),
    queryFn: ({ signal }) => apiFetch<ExecutionDetails>(`/workflows/execution/${prefillId}`, { signal }),
    enabled: prefillId !== null,
    retry: shouldRetryQuery,
  });
  const prefilled = useRef(false);
  const { fillFrom } = form;
  useEffect(() => {
    if (prefilled.current || !prefill.data || !workflows.data) return;
    prefilled.current = true;
    void fillFrom(prefill.data);
  }, [prefill.data, workflows.data, fillFrom]);

  const execute = useMutation({
    mutationFn: (input: { workflow: Workflow; file: File | null; extraFiles: Record<string, File>; values: Record<string, string>; options: RunOptions }) => {
      const body = new FormData();
      body.set("workflow_id", input.workflow.id);
      for (const [name, value] of Object.entries(input.values)) body.set(name, value);
      appendRunOptions(body, input.workflow, input.options);
      if (input.file && input.workflow.upload) body.set(input.workflow.upload.field, input.file, input.file.name);
      for (const [field, file] of Object.entries(input.extraFiles)) body.set(field, file, file.name);
      return apiFetch<ExecuteResponse>("/workflows/execute", { method: "POST", body });
    },
    onSuccess: (response, input) => {
      setRunStatus("queued");
      setJobId(response.job_id);
      setDetachedJobId(null);
      setNote(null);
      syncUrl(input.workflow.id, response.job_id);
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      // The run is where things happen now: focus it for screen readers, and show it on a phone.
      window.requestAnimationFrame(() => {
        runRef.current?.focus({ preventScroll: true });
        if (narrowScreen()) runRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
      });
    },
    onSettled: () => {
      submitting.current = false;
    },
  });

  const runGoing = jobId !== null && (runStatus === null || isActiveStatus(runStatus));
  const onStatus = useCallback((status: JobStatus) => setRunStatus(status), []);

  const bringFormUp = (message: string) => {
    setNote(message);
    window.requestAnimationFrame(() => {
      formRef.current?.focus({ preventScroll: true });
      formRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
    });
  };
  const runAgain = (details: ExecutionDetails) => {
    void form.fillFrom(details).then((images) => bringFormUp(runAgainNote(images)));
  };
  const useAsInput = (media: StepMedia) => {
    if (!jobId) return;
    void form.takeOutput(media, jobId);
    bringFormUp(`The output of “${media.stepLabel}” is now the image of your next run.`);
  };
  const newRun = () => {
    setDetachedJobId(jobId);
    setJobId(null);
    setRunStatus(null);
    execute.reset();
    syncUrl(form.workflowId, null);
    bringFormUp("Your run keeps going. Adjust the inputs and press Execute to start another.");
  };
  const showDetached = () => {
    setJobId(detachedJobId);
    setDetachedJobId(null);
    setNote(null);
    syncUrl(form.workflowId, detachedJobId);
  };

  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    const { selected, image, values, options } = form;
    if (runGoing || submitting.current || !selected) return;
    if (selected.upload?.required && !image?.ok) return;
    if (firstFieldError(selected.inputs, values) || extraImagesProblem(selected, form.extraImages)) return;
    submitting.current = true;
    const extraFiles = Object.fromEntries(extraImageInputsOf(selected).flatMap((input) => (form.extraImages[input.name]?.ok ? [[input.name, form.extraImages[input.name]!.file]] : [])));
    execute.mutate({ workflow: selected, file: selected.upload && image?.ok ? image.file : null, extraFiles, values, options });
  };

  const formNote = (
    <>
      {detachedJobId && <DetachedRunNote jobId={detachedJobId} onShow={showDetached} />}
      {note && (
        <p role="status" className="rounded-lg border border-slate-700 bg-slate-900 p-3 text-sm text-slate-200" data-testid="form-note">
          {note}
        </p>
      )}
    </>
  );

  return (
    <div className="grid items-start gap-6 lg:grid-cols-[minmax(0,7fr)_minmax(0,5fr)] lg:gap-8">
      {jobId && (
        <div ref={runRef} tabIndex={-1} aria-label="Run" className="outline-none" data-testid="run-column">
          <JobPanel key={jobId} jobId={jobId} onRunAgain={runAgain} onUseAsInput={form.selected ? useAsInput : undefined} onStatus={onStatus} />
        </div>
      )}
      <RunForm
        workflows={workflows}
        form={form}
        primary={{ kind: runGoing ? "new-run" : "execute", pending: execute.isPending, error: execute.error, onNewRun: newRun }}
        note={formNote}
        onSubmit={onSubmit}
        formRef={formRef}
      />
      {!jobId && (
        <div className="lg:order-first">
          {form.selected ? (
            <section className={`${cardClass} space-y-5 p-5`} aria-labelledby="preview-title">
              <div>
                <h2 id="preview-title" className="text-base font-semibold text-slate-100">
                  Ready when you are
                </h2>
                <p className="mt-1 text-sm text-slate-300">Press Execute and each step lights up here as it runs; the result appears here, large.</p>
              </div>
              <StepTracker steps={form.selected.steps} view={null} />
            </section>
          ) : (
            <EmptyState icon={<WorkflowGlyph className="size-6" />} title="No run yet">
              Choose a workflow to see its steps.
            </EmptyState>
          )}
        </div>
      )}
    </div>
  );
}
