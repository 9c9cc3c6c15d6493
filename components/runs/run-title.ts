import type { Job, Workflow } from "@/components/api/types";

/** The prompt a run is best known by: its first text input with a value (for Image Edit to Video, the edit prompt). */
export function runPrompt(job: Pick<Job, "inputs">, workflow: Workflow | undefined): string | undefined {
  // Only text inputs: an aspect ratio or a seed is no prompt.
  const names = workflow ? workflow.inputs.filter((input) => input.type === "text" || input.type === "textarea").map((input) => input.name) : Object.keys(job.inputs);
  for (const name of names) {
    const value = job.inputs[name]?.trim();
    if (value) return value;
  }
  return undefined;
}

/** The first words of a text, whole words only, with an ellipsis when cut. */
export function firstWords(text: string, count = 8): string {
  const words = text.trim().split(/\s+/);
  return words.length <= count ? words.join(" ") : `${words.slice(0, count).join(" ")}…`;
}
