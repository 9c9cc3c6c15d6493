import type { StepConfig, StepPricing, WorkflowConfig } from "@/lib/workflows/definition";

/**
 * The cost arithmetic: estimates before a run and actual costs after each step. Money is counted
 * in whole micro-dollars (1e-6 USD) so that sums, budgets and comparisons in the database are
 * exact; the API shows dollars (`toUsd`).
 */

export const MICROS_PER_USD = 1_000_000;

export function toMicros(usd: number): number {
  return Math.round(usd * MICROS_PER_USD);
}

export function toUsd(micros: number): number {
  return micros / MICROS_PER_USD;
}

/**
 * Why a step costs what it costs:
 * - `priced`: the step's pricing applied;
 * - `local`: the models run locally (the embedded default), which costs nothing;
 * - `no_model`: the step runs no model (e.g. the upload);
 * - `unpriced`: the step runs a paid model whose config.json declares no pricing, so its cost is unknown.
 */
export type CostBasis = "priced" | "local" | "no_model" | "unpriced";

export interface StepEstimate {
  step: number;
  stepName: string;
  basis: CostBasis;
  /** null when unknown (`unpriced`). */
  micros: number | null;
}

export interface WorkflowEstimate {
  /** The sum of the steps whose cost is known. */
  micros: number;
  /** False when a step's cost is unknown, so the total is a lower bound. */
  complete: boolean;
  steps: StepEstimate[];
}

export interface EstimateOptions {
  /** The models run locally: every step costs 0. */
  localModels: boolean;
  /**
   * How many candidates a model step makes (each is a separate paid run): one count for every
   * model step, or counts by step index (steps not named run once). Default 1.
   */
  candidates?: number | Record<number, number>;
}

/** What one run of a step is expected to cost under its pricing. */
export function estimateRunMicros(pricing: StepPricing): number {
  switch (pricing.per) {
    case "output":
      return toMicros(pricing.usd);
    case "second_of_output":
    case "second_of_compute":
      return toMicros(pricing.usd * pricing.estimate_seconds);
  }
}

export function estimateStep(step: StepConfig, index: number, options: EstimateOptions): StepEstimate {
  const base = { step: index, stepName: step.name };
  if (!step.model) return { ...base, basis: "no_model", micros: 0 };
  if (options.localModels) return { ...base, basis: "local", micros: 0 };
  if (!step.pricing) return { ...base, basis: "unpriced", micros: null };
  return { ...base, basis: "priced", micros: estimateRunMicros(step.pricing) * candidateCount(typeof options.candidates === "object" ? (options.candidates[index] ?? 1) : options.candidates) };
}

export function estimateWorkflow(config: Pick<WorkflowConfig, "steps">, options: EstimateOptions): WorkflowEstimate {
  const steps = config.steps.map((step, index) => estimateStep(step, index, options));
  return {
    micros: steps.reduce((sum, step) => sum + (step.micros ?? 0), 0),
    complete: steps.every((step) => step.micros !== null),
    steps,
  };
}

function candidateCount(candidates: number | undefined): number {
  if (candidates === undefined) return 1;
  if (!Number.isInteger(candidates) || candidates < 1) throw new RangeError(`candidates must be a positive integer, not ${candidates}`);
  return candidates;
}

/** What a provider reported about one model run (lib/providers/types.ts ModelUsage). */
export interface RunUsage {
  /** The provider runs models locally: nothing to pay. */
  free: boolean;
  /** Seconds of the provider's hardware (Replicate's `metrics.predict_time`). */
  computeSeconds?: number;
  /** Files the run produced. */
  outputs?: number;
  /** Length of the produced media (video), when known. */
  outputSeconds?: number;
}

export interface ActualCost {
  basis: CostBasis;
  micros: number | null;
}

/**
 * What a completed step cost, from what its provider reported for each model run it made. A
 * per-second form whose figure the provider did not report falls back to the estimate's seconds.
 */
export function actualStepCost(step: StepConfig, runs: RunUsage[]): ActualCost {
  if (runs.length === 0) return { basis: step.model ? "priced" : "no_model", micros: 0 };
  if (runs.every((run) => run.free)) return { basis: "local", micros: 0 };
  const pricing = step.pricing;
  if (!pricing) return { basis: "unpriced", micros: null };
  const micros = runs.reduce((sum, run) => sum + (run.free ? 0 : runMicros(pricing, run)), 0);
  return { basis: "priced", micros };
}

function runMicros(pricing: StepPricing, run: RunUsage): number {
  switch (pricing.per) {
    case "output":
      return toMicros(pricing.usd * Math.max(1, run.outputs ?? 1));
    case "second_of_output":
      return toMicros(pricing.usd * (run.outputSeconds ?? pricing.estimate_seconds));
    case "second_of_compute":
      return toMicros(pricing.usd * (run.computeSeconds ?? pricing.estimate_seconds));
  }
}
