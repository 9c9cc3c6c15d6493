import type { StepConfig, Workflow } from "@/lib/workflows/definition";

/**
 * Candidates: a step that runs as 1-4 candidates side by side, of which a person picks one (or
 * auto_pick the first that succeeded). What config.json's `"candidates"` on a step means:
 * - a number 1-4: the step allows candidates and runs that many unless the caller asks for another
 *   count (1-4);
 * - false: the step forbids candidates; a request that names it is refused (422);
 * - absent: a step that runs a model (`model` or `models` set) allows them and runs 1 by default; a step
 *   without a model (e.g. an upload) forbids them, as there is nothing to vary.
 */
export const MAX_CANDIDATES_PER_STEP = 4;

export interface CandidatePolicy {
  allowed: boolean;
  /** How many candidates the step runs when the caller does not say (1: it runs once). */
  default: number;
}

export function candidatePolicy(step: Pick<StepConfig, "candidates" | "model" | "models">): CandidatePolicy {
  if (step.candidates === false) return { allowed: false, default: 1 };
  if (typeof step.candidates === "number") return { allowed: true, default: step.candidates };
  return { allowed: step.model !== undefined || (step.models?.length ?? 0) > 0, default: 1 };
}

/**
 * The candidates each step runs: config.json's defaults with the caller's counts (by step name)
 * in their place. Only counts above 1 are kept (a step run once is not a candidate step).
 * `problems` names each refused request: an unknown step, one that forbids candidates, a count
 * outside 1-4.
 */
export function resolveCandidates(workflow: Workflow, requested: Record<string, unknown>): { steps: Record<number, number>; problems: string[] } {
  const steps = workflow.config.steps;
  const counts: Record<number, number> = {};
  steps.forEach((step, index) => {
    const { allowed, default: count } = candidatePolicy(step);
    if (allowed && count > 1) counts[index] = count;
  });
  const problems: string[] = [];
  for (const [name, value] of Object.entries(requested)) {
    const index = steps.findIndex((step) => step.name === name);
    const shown = JSON.stringify(name.slice(0, 64));
    if (index < 0) {
      problems.push(`candidates names no step of this workflow: ${shown}; its steps are ${steps.map((step) => step.name).join(", ")}.`);
      continue;
    }
    if (!candidatePolicy(steps[index]!).allowed) {
      problems.push(`The step ${shown} does not run as candidates; steps that do: ${allowingSteps(workflow).join(", ") || "none"}.`);
      continue;
    }
    const count = typeof value === "string" && /^\s*\d{1,2}\s*$/.test(value) ? Number(value) : value;
    if (typeof count !== "number" || !Number.isInteger(count) || count < 1 || count > MAX_CANDIDATES_PER_STEP) {
      problems.push(`candidates for ${shown} must be a whole number from 1 to ${MAX_CANDIDATES_PER_STEP}.`);
      continue;
    }
    if (count > 1) counts[index] = count;
    else delete counts[index];
  }
  return { steps: counts, problems };
}

function allowingSteps(workflow: Workflow): string[] {
  return workflow.config.steps.filter((step) => candidatePolicy(step).allowed).map((step) => step.name);
}

/** `candidates[<step name>]` form fields as a map by step name; the other fields are left as they are. */
export function candidateFields(fields: Map<string, string>): Record<string, string> {
  const requested: Record<string, string> = {};
  for (const [name, value] of [...fields]) {
    const match = /^candidates\[([^\]]{1,64})\]$/.exec(name);
    if (!match) continue;
    requested[match[1]!] = value;
    fields.delete(name);
  }
  return requested;
}

/** `auto_pick` as a form field or JSON value: true/false (also 1/0, on/off). */
export function parseAutoPick(value: unknown): boolean | undefined {
  if (value === undefined || value === null || value === "") return false;
  if (typeof value === "boolean") return value;
  if (typeof value === "string") {
    const text = value.trim().toLowerCase();
    if (["true", "1", "on", "yes"].includes(text)) return true;
    if (["false", "0", "off", "no"].includes(text)) return false;
  }
  return undefined;
}
