import "server-only";
import { context, propagation, trace, type Tracer } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import type { Config } from "@/lib/config";
import type { Logger } from "@/lib/log";

/**
 * OpenTelemetry traces, on when OTEL_EXPORTER_OTLP_ENDPOINT (or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
 * is set: the process registers a tracer provider (@opentelemetry/sdk-trace-node) that batches
 * spans to the collector over OTLP/HTTP with JSON bodies, with its AsyncLocalStorage context
 * manager, so a step's span is the child of its run's and a provider call's the child of its
 * step's. The versions are those the Inngest SDK already brings, so both share one API. Unset, nothing is registered:
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
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ "service.name": config.OTEL_SERVICE_NAME }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url }), { scheduledDelayMillis: 1000 })],
  });
  // The global provider (what every bundle's copy of @opentelemetry/api sees, one per process), the
  // AsyncLocalStorage context manager and the W3C propagators.
  provider.register();
  logger.info("traces exported over OTLP/HTTP", { url: new URL(url).origin });
  return {
    tracer: trace.getTracer("montage"),
    flush: () => provider.forceFlush(),
    async shutdown() {
      await provider.shutdown().catch((error: unknown) => logger.warn("could not export the last spans", { err: error }));
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}
