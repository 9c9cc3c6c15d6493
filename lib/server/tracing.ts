import "server-only";
import { context, trace, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import type { Config } from "@/lib/config";
import type { Logger } from "@/lib/log";

/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
 * is set: the process registers a tracer provider that batches spans to the collector over
 * OTLP/HTTP with JSON bodies, and an AsyncLocalStorage context manager so a step's span is the
 * child of its run's and a provider call's the child of its step's. Unset, nothing is registered:
 * the engine gets no tracer and wraps nothing (lib/engine/tracing.ts), so tracing costs nothing.
 *
 * The composition root starts it (lib/server/runtime.ts), so it is on in every way Montage runs:
 * `npm start` (scripts/server.mjs, whose `app.prepare()` runs instrumentation.ts), `next start`,
 * `next dev`, and the Inngest functions served by the same process.
 */
export interface Tracing {
  /** The tracer the engine uses; undefined when tracing is off. */
  readonly tracer: Tracer | undefined;
  /** Exports what is still batched (tests, shutdown). */
  flush(): Promise<void>;
  /** Exports what is left and unregisters the provider. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { tracer: undefined, flush: async () => undefined, shutdown: async () => undefined };

export function tracesUrl(config: Pick<Config, "OTEL_EXPORTER_OTLP_ENDPOINT" | "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT">): string | undefined {
  if (config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) return config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  if (config.OTEL_EXPORTER_OTLP_ENDPOINT) return `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
  return undefined;
}

export function startTracing(config: Config, logger: Logger): Tracing {
  const url = tracesUrl(config);
  if (!url) return OFF;
  const contextManager = new AsyncLocalStorageContextManager().enable();
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url }), scheduledDelayMillis: 1000 })],
  });
  // The global API is what other bundles' copies of @opentelemetry/api see too (one per process).
  if (!context.setGlobalContextManager(contextManager) || !trace.setGlobalTracerProvider(provider)) {
    logger.warn("an OpenTelemetry provider was already registered in this process; spans go to it");
  }
  logger.info("traces exported over OTLP/HTTP", { url: new URL(url).origin });
  return {
    tracer: trace.getTracer("montage"),
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown().catch((error: unknown) => logger.warn("could not export the last spans", { err: error }));
      trace.disable();
      context.disable();
    },
  };
}
