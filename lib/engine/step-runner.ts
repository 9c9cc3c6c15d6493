import "server-only";
/**
 * The seam between the engine and whatever makes steps durable. The in-process runner calls `fn`
 * directly (the database checkpoints are the durability); the Inngest driver wraps it in
 * `step.run(id, fn)`, which memoizes the result across invocations.
 */
export interface StepRunner {
  step<T>(id: string, fn: () => Promise<T>): Promise<T>;
  /**
   * True when consecutive steps run back to back inside one run (the in-process runner): a step's
   * end is then committed together with the next step's start in one transaction. Runners that
   * replay or split steps across invocations (Inngest) leave it unset, and each step's start is a
   * commit of its own inside its step.
   */
  readonly continuous?: boolean;
  /**
   * True when parallel steps run in separate invocations of the run, each taking the lease again
   * (Inngest): the candidates of a step then write under the run's owner whatever the epoch.
   */
  readonly parallelInvocations?: boolean;
}

export const directStepRunner: StepRunner = { step: (_id, fn) => fn(), continuous: true };

/** Stable, readable step ids: Inngest shows them in its dashboard and memoizes by them. */
export function stepId(index: number, name: string): string {
  return `step-${index}-${name.replaceAll("_", "-")}`;
}
