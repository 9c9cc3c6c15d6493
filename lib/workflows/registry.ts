import "server-only";
import type { DiscoveredWorkflow } from "@/lib/workflows/registry.generated";
import { workflowConfigSchema, type StepHandler, type Workflow } from "@/lib/workflows/definition";

export interface WorkflowProblem {
  folder: string;
  problem: string;
}

export interface Registry {
  workflows: Map<string, Workflow>;
  problems: WorkflowProblem[];
}

/** Validates discovered folders: a broken one is reported and left out; the others load. */
export function buildRegistry(discovered: DiscoveredWorkflow[], earlierProblems: WorkflowProblem[] = []): Registry {
  const workflows = new Map<string, Workflow>();
  const problems = [...earlierProblems];
  for (const entry of discovered) {
    const { folder, config: rawConfig, module } = entry;
    const parsed = workflowConfigSchema.safeParse(rawConfig);
    if (!parsed.success) {
      const detail = parsed.error.issues.map((issue) => `${issue.path.join(".") || "(root)"}: ${issue.message}`).join("; ");
      problems.push({ folder, problem: `invalid config.json: ${detail}` });
      continue;
    }
    const config = parsed.data;
    const handlers = module.handlers as Record<string, unknown> | undefined;
    if (!handlers || typeof handlers !== "object") {
      problems.push({ folder, problem: "workflow.ts exports no `handlers` (use defineWorkflow)" });
      continue;
    }
    const missing = config.steps.filter((step) => typeof handlers[step.name] !== "function").map((step) => step.name);
    if (missing.length > 0) {
      problems.push({ folder, problem: `no handler for step(s): ${missing.join(", ")}` });
      continue;
    }
    const duplicateStep = config.steps.find((step, i) => config.steps.findIndex((s) => s.name === step.name) !== i);
    if (duplicateStep) {
      problems.push({ folder, problem: `step name "${duplicateStep.name}" is used twice` });
      continue;
    }
    if (workflows.has(config.id)) {
      problems.push({ folder, problem: `workflow id "${config.id}" is already used by another folder` });
      continue;
    }
    workflows.set(config.id, { config, handlers: handlers as Record<string, StepHandler>, version: entry.version });
  }
  return { workflows, problems };
}

