import type { StepConfig, StepModel, WorkflowConfig } from "@/lib/workflows/definition";

/**
 * Model choice per step: a step that lists `models` lets the caller pick one of them at execute
 * (`models[<step>]=<owner/name>`, or `{"models": {...}}` in JSON); one not picked runs its default.
 * The job records what was chosen, and the run, the estimate and the actual cost all use the
 * chosen model's step (`stepWithModel`): its id, its pricing and its input.
 */

/** The step's default model: `model`, else the first it lists. */
export function defaultModelOf(step: StepConfig): string | undefined {
  return step.model ?? step.models?.[0]?.model;
}

/** The models a step lets a caller choose from (none: the step has no choice). */
export function choicesOf(step: StepConfig): StepModel[] {
  return step.models ?? [];
}

const MODEL_FIELD = /^models\[([^\]]{1,64})\]$/;

/** Splits `models[<step>]` fields off a form's fields: the rest are the inputs. */
export function takeModelFields(fields: Map<string, string>): { models: Record<string, string>; rest: Map<string, string> } {
  const models: Record<string, string> = {};
  const rest = new Map<string, string>();
  for (const [name, value] of fields) {
    const match = MODEL_FIELD.exec(name);
    if (match) models[match[1]!] = value.trim();
    else rest.set(name, value);
  }
  return { models, rest };
}

/**
 * The models a job runs, by step name, for the steps that offer a choice: the caller's pick where
 * it is one the step lists, the default otherwise. Each refused pick is a problem naming its field.
 */
export function resolveModels(config: Pick<WorkflowConfig, "steps">, requested: Record<string, string>): { models: Record<string, string>; problems: string[] } {
  const problems: string[] = [];
  const models: Record<string, string> = {};
  for (const [stepName, model] of Object.entries(requested)) {
    const step = config.steps.find((candidate) => candidate.name === stepName);
    const field = `models[${stepName.slice(0, 64)}]`;
    if (!step) problems.push(`${field}: this workflow has no step ${JSON.stringify(stepName.slice(0, 64))}; its steps are ${config.steps.map((s) => s.name).join(", ")}.`);
    else if (!step.models) problems.push(`${field}: the step ${step.name} offers no choice of model.`);
    else if (model !== "" && !step.models.some((choice) => choice.model === model)) {
      problems.push(`${field}: ${JSON.stringify(model.slice(0, 100))} is not a model this step allows; choose one of ${step.models.map((choice) => choice.model).join(", ")}.`);
    }
  }
  for (const step of config.steps) {
    if (!step.models) continue;
    const picked = requested[step.name];
    models[step.name] = picked ? picked : defaultModelOf(step)!;
  }
  return { models, problems };
}

/**
 * The step as it runs with `model` (the job's choice; none: its default): the model's id, its
 * pricing (else the step's) and its input over the step's. A step without a choice is unchanged.
 */
export function stepWithModel(step: StepConfig, model: string | undefined): StepConfig {
  const choices = choicesOf(step);
  if (choices.length === 0) return step;
  const choice = choices.find((candidate) => candidate.model === (model ?? defaultModelOf(step))) ?? choices.find((candidate) => candidate.model === defaultModelOf(step))!;
  const pricing = choice.pricing ?? step.pricing;
  return { ...step, model: choice.model, input: { ...step.input, ...choice.input }, ...(pricing && { pricing }) };
}

/** Every step as it runs with the job's chosen models. */
export function stepsWithModels(config: Pick<WorkflowConfig, "steps">, models: Record<string, string> = {}): StepConfig[] {
  return config.steps.map((step) => stepWithModel(step, models[step.name]));
}

/**
 * The handler's model input in the chosen model's names: each field the choice's `input_map`
 * names is renamed; the others pass as they are.
 */
export function mapModelInput(step: StepConfig, input: Record<string, unknown>): Record<string, unknown> {
  const map = choicesOf(step).find((choice) => choice.model === step.model)?.input_map;
  if (!map) return input;
  return Object.fromEntries(Object.entries(input).map(([name, value]) => [map[name] ?? name, value]));
}
