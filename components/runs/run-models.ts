import type { Job, Workflow } from "@/components/api/types";

/** The model a run ran at one step that offers a choice (`job.models`, recorded at execute). */
export interface RunModel {
  step: string;
  /** The step's label; its name when the workflow is not installed any more. */
  stepLabel: string;
  model: string;
  /** The choice's label in the workflow's list; the model's id when the list no longer has it. */
  label: string;
  /** Whether it is the step's default in the workflow installed now (unknown without the workflow: false). */
  isDefault: boolean;
}

/**
 * The models a run chose, in the order of the workflow's steps (the job's own order for steps the
 * workflow no longer has, or without the workflow).
 */
export function runModels(job: Pick<Job, "models">, workflow: Workflow | undefined): RunModel[] {
  const steps = workflow?.steps ?? [];
  const position = (name: string) => {
    const index = steps.findIndex((step) => step.name === name);
    return index === -1 ? steps.length : index;
  };
  return Object.entries(job.models)
    .map(([name, model]) => {
      const step = steps.find((candidate) => candidate.name === name);
      return {
        step: name,
        stepLabel: step?.label ?? name,
        model,
        label: step?.models?.find((choice) => choice.model === model)?.label ?? model,
        isDefault: step?.model === model,
      };
    })
    .sort((a, b) => position(a.step) - position(b.step));
}

/**
 * The compact note a Runs list row carries when its run chose a model other than a step's default
 * ("FLUX dev (detailed)"; several joined); null when it ran the defaults or the workflow is unknown.
 */
export function chosenModelsNote(job: Pick<Job, "models">, workflow: Workflow | undefined): string | null {
  if (!workflow) return null;
  const chosen = runModels(job, workflow).filter((model) => !model.isDefault);
  return chosen.length === 0 ? null : chosen.map((model) => model.label).join(", ");
}
