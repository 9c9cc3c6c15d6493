import "server-only";
import { SpanStatusCode, trace, type Attributes, type SpanOptions, type Tracer } from "@opentelemetry/api";
import type { RunOutcome, StepOutcome } from "@/lib/engine/types";
import type { ModelProvider, Providers, StorageProvider } from "@/lib/providers/types";

/**
 * The engine's spans (lib/server/tracing.ts turns them on): a run (`montage.run`), each of its
 * steps (`montage.step`, the run's child) and each provider call a step makes
 * (`montage.provider.model`, `montage.provider.storage`, the step's children). Attributes are ids,
 * names, counts and outcomes only: never inputs (prompts are the user's), outputs, URLs, error
 * messages or anything from the configuration, so no secret can reach a collector.
 */
export const SPAN_ATTRIBUTES = {
  jobId: "montage.job.id",
  workflow: "montage.workflow.id",
  workflowVersion: "montage.workflow.version",
  step: "montage.step.index",
  stepName: "montage.step.name",
  attempt: "montage.attempt",
  outcome: "montage.outcome",
  code: "montage.outcome.code",
  provider: "montage.provider",
  model: "montage.model",
  operation: "montage.provider.operation",
} as const;

/** What a span says of how its work ended: the outcome's status, and a code for failures. */
export interface SpanOutcome {
  outcome: string;
  code?: string;
  error?: boolean;
}

/**
 * Runs `fn` in a span (the child of the active one; with `root`, the first of a trace of its own,
 * linked to the active one) when there is a tracer; without one, just runs it. The span ends with
 * the outcome `describe` gives the result, or "error" when `fn` throws.
 */
export async function traced<T>(
  tracer: Tracer | undefined,
  name: string,
  attributes: Attributes,
  fn: () => Promise<T>,
  describe: (result: T) => SpanOutcome,
  options: { root?: boolean } = {},
): Promise<T> {
  if (!tracer) return fn();
  const active = options.root ? trace.getActiveSpan()?.spanContext() : undefined;
  const spanOptions: SpanOptions = { attributes, ...(options.root && { root: true }), ...(active && { links: [{ context: active }] }) };
  return tracer.startActiveSpan(name, spanOptions, async (span) => {
    try {
      const result = await fn();
      const { outcome, code, error } = describe(result);
      span.setAttribute(SPAN_ATTRIBUTES.outcome, outcome);
      if (code !== undefined) span.setAttribute(SPAN_ATTRIBUTES.code, code);
      if (error) span.setStatus({ code: SpanStatusCode.ERROR });
      return result;
    } catch (error) {
      // The error's message may carry a provider's internal detail: only its kind is recorded.
      span.setAttribute(SPAN_ATTRIBUTES.outcome, "error");
      span.setAttribute(SPAN_ATTRIBUTES.code, errorKind(error));
      span.setStatus({ code: SpanStatusCode.ERROR });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** A thrown error's kind, never its message: a typed error's class and code or reason, else its name. */
function errorKind(error: unknown): string {
  if (typeof error !== "object" || error === null) return "unknown";
  const { name, code, reason } = error as { name?: unknown; code?: unknown; reason?: unknown };
  const detail = typeof code === "string" ? code : typeof reason === "string" ? reason : undefined;
  const kind = typeof name === "string" ? name : "Error";
  return detail ? `${kind}:${detail}` : kind;
}

/** The providers with each call in a span of its own (the step's child); the providers as they are without a tracer. */
export function tracedProviders(providers: Providers, tracer: Tracer | undefined): Providers {
  if (!tracer) return providers;
  const ok = () => ({ outcome: "ok" });
  const models: ModelProvider = {
    name: providers.models.name,
    checkHealth: () => providers.models.checkHealth(),
    run: (request) =>
      traced(tracer, "montage.provider.model", { [SPAN_ATTRIBUTES.provider]: providers.models.name, [SPAN_ATTRIBUTES.model]: request.model, [SPAN_ATTRIBUTES.jobId]: request.jobId, [SPAN_ATTRIBUTES.step]: request.stepIndex }, () => providers.models.run(request), ok),
  };
  const storage: StorageProvider = {
    name: providers.storage.name,
    checkHealth: () => providers.storage.checkHealth(),
    put: (request) => traced(tracer, "montage.provider.storage", { [SPAN_ATTRIBUTES.provider]: providers.storage.name, [SPAN_ATTRIBUTES.operation]: "put" }, () => providers.storage.put(request), ok),
    read: (url, signal) => traced(tracer, "montage.provider.storage", { [SPAN_ATTRIBUTES.provider]: providers.storage.name, [SPAN_ATTRIBUTES.operation]: "read" }, () => providers.storage.read(url, signal), ok),
  };
  return { storage, models };
}

/** How a run or a step ended, as its span says (lib/engine/tracing.ts). */
export function outcomeOf(outcome: RunOutcome | StepOutcome): SpanOutcome {
  switch (outcome.status) {
    case "failed":
      return { outcome: "failed", code: outcome.code, error: true };
    case "pending_retry":
      return { outcome: "pending_retry", code: outcome.reason };
    case "interrupted":
      return { outcome: "interrupted", code: outcome.reason };
    default:
      return { outcome: outcome.status };
  }
}
