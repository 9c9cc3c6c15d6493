"use client";

import Link from "next/link";
import type { FormEvent, ReactNode, Ref } from "react";
import { Play, Plus, Workflow as WorkflowGlyph } from "lucide-react";
import { errorMessage } from "@/components/api/client";
import { EmptyState, ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { estimateLabel } from "@/components/ui/money";
import { buttonClass } from "@/components/ui/styles";
import { ExtraImageInputs, extraImagesProblem } from "@/components/workflows/extra-image-inputs";
import { ImageDropzone } from "@/components/workflows/image-dropzone";
import type { RunFormState } from "@/components/workflows/use-run-form";
import type { useWorkflows } from "@/components/workflows/use-workflows";
import { estimateWithModels, ModelChoices } from "@/components/workflows/model-choices";
import { firstFieldError, WorkflowInputs } from "@/components/workflows/workflow-inputs";
import { WorkflowPicker } from "@/components/workflows/workflow-picker";
import { RunOptionsFields } from "@/components/workflows/run-options";

function Section({ number, title, children }: { number: number; title: string; children: ReactNode }) {
  return (
    <section className="space-y-3" aria-labelledby={`section-${number}`}>
      <h2 id={`section-${number}`} className="flex items-center gap-2 text-sm font-semibold text-slate-100">
        <span aria-hidden className="flex size-6 items-center justify-center rounded-full bg-slate-800 text-xs text-slate-200">
          {number}
        </span>
        {title}
      </h2>
      {children}
    </section>
  );
}

export interface PrimaryAction {
  /** "new-run" while a run started here is going: a second run takes a deliberate step. */
  kind: "execute" | "new-run";
  pending: boolean;
  error: unknown;
  onNewRun: () => void;
}

/**
 * The new-run form: workflow, image (drop, browse or paste), inputs (with a file picker per extra
 * image input), and the primary action. While
 * this page's run is going, the primary action is "New run", which keeps that run going and clears
 * the way for another; Execute itself is disabled while its upload is in flight.
 */
export function RunForm({
  workflows,
  form,
  primary,
  note,
  onSubmit,
  formRef,
}: {
  workflows: ReturnType<typeof useWorkflows>;
  form: RunFormState;
  primary: PrimaryAction;
  /** Shown at the top of the form, e.g. after Run again filled it in. */
  note: ReactNode;
  onSubmit: (event: FormEvent) => void;
  formRef: Ref<HTMLFormElement>;
}) {
  const { selected, image } = form;
  const upload = selected?.upload ?? null;
  const missing = !selected
    ? "Choose a workflow first."
    : upload?.required && !image
      ? "Add an image to run the workflow."
      : upload && image && !image.ok
        ? image.error
          ? "Fix the image first."
          : "Checking the image…"
        : (firstFieldError(selected.inputs, form.values) ?? extraImagesProblem(selected, form.extraImages));
  // Sections are numbered as they appear: a workflow without an upload has no image section.
  const inputsNumber = upload ? 3 : 2;
  return (
    <form ref={formRef} tabIndex={-1} onSubmit={onSubmit} className="space-y-8 outline-none" aria-label="New run" noValidate data-testid="run-form">
      {note}
      <Section number={1} title="Choose a workflow">
        {workflows.isPending ? (
          <Skeleton className="h-28 w-full rounded-2xl" />
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
          <EmptyState icon={<WorkflowGlyph className="size-6" />} title="No workflows installed">
            Add a folder with a <code>config.json</code> and a <code>workflow.ts</code> under <code>workflows/</code>, then rebuild.
          </EmptyState>
        ) : (
          <WorkflowPicker workflows={workflows.data} value={form.workflowId} onChange={form.chooseWorkflow} />
        )}
      </Section>

      {selected && (
        <>
          {upload && (
            <Section number={2} title={`${upload.field === "file" ? "Add an image" : `Add the ${upload.label.toLowerCase()}`}${upload.required ? "" : " (optional)"}`}>
              <ImageDropzone accepts={selected.accepts} value={image} onChange={form.setImage} description={selected.inputs.find((input) => input.type === "image" && input.name === upload.field)?.description} />
              {form.fillError && (
                <p role="alert" className="text-sm text-red-300">
                  {form.fillError}
                </p>
              )}
            </Section>
          )}
          <Section number={inputsNumber} title="Describe the result">
            <WorkflowInputs inputs={selected.inputs} values={form.values} onChange={form.setValue} />
            <ExtraImageInputs workflow={selected} images={form.extraImages} onChange={form.setExtraImage} />
            {form.extraFillError && (
              <p role="alert" className="text-sm text-red-300" data-testid="extra-fill-error">
                {form.extraFillError}
              </p>
            )}
            <ModelChoices workflow={selected} values={form.values} onChange={form.setValue} />
          </Section>
          <Section number={4} title="Options">
            <RunOptionsFields workflow={selected} value={form.options} onChange={form.setOptions} />
          </Section>
          <div className="space-y-2">
            {/* Keyed apart: the clicked New run must not become, under the click, the submit button it turns into. */}
            {primary.kind === "new-run" ? (
              <button key="new-run" type="button" className={`${buttonClass("secondary", "lg")} w-full`} onClick={primary.onNewRun} aria-describedby="execute-hint">
                <Plus aria-hidden className="size-5" />
                New run
              </button>
            ) : (
              <button key="execute" type="submit" className={`${buttonClass("primary", "lg")} w-full`} disabled={missing !== null || primary.pending} aria-describedby="execute-hint execute-estimate">
                {primary.pending ? <Spinner className="size-5" /> : <Play aria-hidden className="size-5" />}
                {primary.pending ? "Uploading…" : "Execute"}
              </button>
            )}
            <p id="execute-estimate" className="text-center text-sm text-slate-200" data-testid="execute-estimate">
              {estimateLabel(estimateWithModels(selected, form.values))}
            </p>
            <p id="execute-hint" className="min-h-5 text-center text-xs text-slate-300">
              {primary.kind === "new-run"
                ? "Your run is going. New run keeps it going and lets you start another."
                : (missing ?? `Runs ${selected.steps.length} steps; you can leave this page and find the run under Runs.`)}
            </p>
            {primary.error !== null && primary.error !== undefined && (
              <div role="alert" className="rounded-lg border border-red-500/40 bg-red-950 p-3 text-sm text-red-100">
                {errorMessage(primary.error)}
              </div>
            )}
          </div>
        </>
      )}
    </form>
  );
}

/** After New run: the earlier run keeps going, one click away. */
export function DetachedRunNote({ jobId, onShow }: { jobId: string; onShow: () => void }) {
  return (
    <p className="rounded-lg border border-sky-500/40 bg-sky-950 p-3 text-sm text-sky-100" data-testid="detached-run">
      Your previous run keeps going.{" "}
      <button type="button" className="font-medium underline underline-offset-2" onClick={onShow}>
        Show it
      </button>{" "}
      or find it under{" "}
      <Link href={`/runs/${jobId}`} className="font-medium underline underline-offset-2">
        Runs
      </Link>
      .
    </p>
  );
}
