"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useId, useState, type FormEvent } from "react";
import { RotateCw } from "lucide-react";
import { errorMessage, postJson } from "@/components/api/client";
import type { RerunResponse, Workflow } from "@/components/api/types";
import { jobQueryKey, runsQueryKey } from "@/components/jobs/use-job-live";
import { Spinner } from "@/components/ui/states";
import { buttonClass, inputClass, labelClass } from "@/components/ui/styles";
import { defaultText } from "@/components/workflows/input-checks";
import { WorkflowInputs } from "@/components/workflows/workflow-inputs";

/**
 * "Rerun from here": the run's inputs, prefilled and editable, and how many candidates the steps it
 * runs make; the steps before this one are taken from the run as they are (POST /workflows/rerun),
 * so only this step and the ones after it run again.
 */
export function RerunForm({
  jobId,
  fromStep,
  stepLabel,
  workflow,
  inputs,
  hasImage,
  onClose,
}: {
  jobId: string;
  fromStep: number;
  stepLabel: string;
  workflow: Workflow;
  inputs: Record<string, string>;
  /** The run was started with an image: a rerun of every step runs on it (and on its extra images) again. */
  hasImage: boolean;
  onClose: () => void;
}) {
  const router = useRouter();
  const queryClient = useQueryClient();
  const [values, setValues] = useState<Record<string, string>>(() => Object.fromEntries(workflow.inputs.filter((input) => input.type !== "image").map((input) => [input.name, inputs[input.name] ?? defaultText(input)])));
  // The steps this rerun runs that can run as candidates: how many of each, and whether to pick the first that succeeds.
  const candidateSteps = workflow.steps.slice(fromStep).filter((step) => step.candidates);
  const [counts, setCounts] = useState<Record<string, number>>(() => Object.fromEntries(candidateSteps.map((step) => [step.name, step.candidates!.default])));
  const [autoPick, setAutoPick] = useState(false);
  const anyCandidates = Object.values(counts).some((count) => count > 1);
  const autoPickId = useId();
  const rerun = useMutation({
    mutationFn: () =>
      postJson<RerunResponse>(`/workflows/rerun/${jobId}`, {
        from_step: fromStep,
        inputs: values,
        ...(candidateSteps.length > 0 && { candidates: counts }),
        ...(anyCandidates && autoPick && { auto_pick: true }),
      }),
    onSuccess: (answer) => {
      void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      router.push(`/runs/${answer.job_id}`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    rerun.mutate();
  };
  const kept = workflow.steps.slice(0, fromStep).map((step) => step.label);
  return (
    <form onSubmit={submit} className="mt-4 space-y-4 rounded-xl border border-amber-500/40 bg-slate-950 p-4" aria-label={`Rerun from ${stepLabel}`} data-testid="rerun-form">
      <p className="text-sm text-slate-200">
        {kept.length > 0
          ? `Keeps ${kept.join(", ")} from this run, unchanged and not paid for again; runs ${stepLabel} and what follows with these inputs.`
          : `Runs every step again with these inputs${hasImage ? ", on the same image" : ""}.`}
      </p>
      <WorkflowInputs inputs={workflow.inputs} values={values} onChange={(name, value) => setValues((current) => ({ ...current, [name]: value }))} />
      {candidateSteps.length > 0 && (
        <fieldset className="space-y-2" data-testid="rerun-candidates">
          <legend className="text-sm font-medium text-slate-100">Candidates side by side</legend>
          {candidateSteps.map((step) => (
            <CandidateCount key={step.name} label={step.label} max={step.candidates!.max} value={counts[step.name]!} onChange={(count) => setCounts((current) => ({ ...current, [step.name]: count }))} />
          ))}
          {anyCandidates && (
            <div className="flex items-start gap-2">
              <input id={autoPickId} type="checkbox" className="mt-0.5 size-4 accent-amber-500" checked={autoPick} onChange={(event) => setAutoPick(event.currentTarget.checked)} />
              <label htmlFor={autoPickId} className="text-sm text-slate-200">
                Don&apos;t ask me: use the first candidate that succeeds
              </label>
            </div>
          )}
        </fieldset>
      )}
      <div className="flex flex-wrap gap-2">
        <button type="submit" className={buttonClass("primary")} disabled={rerun.isPending || rerun.isSuccess}>
          {rerun.isPending ? <Spinner /> : <RotateCw aria-hidden className="size-4" />}
          Start rerun
        </button>
        <button type="button" className={buttonClass("ghost")} onClick={onClose}>
          Close
        </button>
      </div>
      {rerun.isError && (
        <p role="alert" className="text-sm text-red-300">
          {errorMessage(rerun.error)}
        </p>
      )}
    </form>
  );
}

function CandidateCount({ label, max, value, onChange }: { label: string; max: number; value: number; onChange: (count: number) => void }) {
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className={labelClass}>
        {label}
      </label>
      <select id={id} className={`${inputClass} w-16 py-1`} value={value} onChange={(event) => onChange(Number(event.currentTarget.value))}>
        {Array.from({ length: max }, (_unused, i) => i + 1).map((n) => (
          <option key={n} value={n}>
            {n}
          </option>
        ))}
      </select>
    </div>
  );
}
