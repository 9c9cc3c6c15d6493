import "server-only";
import type { IncomingMessage, ServerResponse } from "node:http";
import { serve } from "inngest/next";
import type { AuthOptions } from "next-auth";
import { RateLimits } from "@/lib/api/rate-limit";
import { buildAuthOptions } from "@/lib/auth/next-auth";
import { PasswordHasher } from "@/lib/auth/password-hasher";
import { AuthThrottle } from "@/lib/auth/throttle";
import { readAuthSecret, useSecureCookies } from "@/lib/auth/session";
import { loadConfig, type Config } from "@/lib/config";
import type { Db } from "@/lib/db/client";
import { createInProcessDriver, type WorkflowDriver } from "@/lib/engine/driver";
import { JobNotifier } from "@/lib/engine/notifier";
import { QueueAnnouncer } from "@/lib/engine/queue-announcer";
import { QueueEstimates } from "@/lib/engine/queue-estimates";
import type { EngineDeps } from "@/lib/engine/types";
import { createInngestClient, inngestMode, type InngestClientOverrides, type MontageInngest } from "@/lib/inngest/client";
import { inngestSettings } from "@/lib/inngest/deps";
import { createInngestDriver } from "@/lib/inngest/driver";
import { predictionCompletedEvent } from "@/lib/inngest/events";
import { createFunctions } from "@/lib/inngest/functions";
import { waitForPredictionUnderInngest } from "@/lib/inngest/prediction-wait";
import { InngestStepScope } from "@/lib/inngest/step-runner";
import { JobStreams } from "@/lib/jobs/stream";
import { CrossProcessWakeups } from "@/lib/jobs/wakeups";
import { createLogger, type Logger } from "@/lib/log";
import { cancelSavedPredictions, checkProviderHealth, createProviders, type ProviderRuntime } from "@/lib/providers";
import { checkpointLayout } from "@/lib/store/checkpoints";
import type { HealthStatus } from "@/lib/providers/types";
import { ReplicateWebhookReceiver, type PredictionCompletedForwarder } from "@/lib/providers/replicate/webhook-receiver";
import { openDatabase } from "@/lib/server/database";
import { serveNodeRoute } from "@/lib/server/node-routes";
import { startTracing, type Tracing } from "@/lib/server/tracing";
import { WebhookDispatcher } from "@/lib/webhooks/dispatcher";
import type { Store } from "@/lib/store/types";
import type { Workflow } from "@/lib/workflows/definition";
import { buildRegistry, type Registry } from "@/lib/workflows/registry";
import { discoveredWorkflows, discoveryProblems } from "@/lib/workflows/registry.generated";

/**
 * The composition root: the one place that builds Montage's services (config, logger, database
 * and store, workflows, providers, engine, driver and runner, streams, limits) and wires them
 * together. Route handlers and pages take what they need from `runtime()`; domain code receives
 * it as arguments and never reaches for a module-level service. Tests build their own runtime.
 */
export interface Runtime {
  readonly config: Config;
  readonly logger: Logger;
  readonly store: Store;
  /** For tests, the load test and benches, to arrange and read data; the app reads and writes through `store` only. */
  readonly prisma: Db;
  readonly registry: Registry;
  findWorkflow(id: string): Workflow | undefined;
  readonly notifier: JobNotifier;
  readonly wakeups: CrossProcessWakeups;
  readonly streams: JobStreams;
  readonly providers: ProviderRuntime;
  checkHealth(provider: string): Promise<HealthStatus>;
  readonly engine: EngineDeps;
  readonly driver: WorkflowDriver;
  /** ETAs from recent runs' step durations (the execution details, the places announced in line). */
  readonly estimates: QueueEstimates;
  /** Set when Montage runs on Inngest (INNGEST_DEV, or an event or signing key). */
  readonly inngest: InngestRuntime | undefined;
  readonly limits: RateLimits;
  /** Sign-up and sign-in limits (per address, per email, failed sign-ins per account). */
  readonly authThrottle: AuthThrottle;
  /** Password hashing in worker threads, off the event loop, refusing a flood with 503. */
  readonly passwordHasher: PasswordHasher;
  readonly replicateWebhooks: ReplicateWebhookReceiver;
  /** Sends outgoing webhook messages (started with the driver). */
  readonly webhooks: WebhookDispatcher;
  /** OpenTelemetry traces (on with OTEL_EXPORTER_OTLP_ENDPOINT; lib/server/tracing.ts). */
  readonly tracing: Tracing;
  /** The sign-in secret (NEXTAUTH_SECRET, or one generated once into DATA_DIR): made on first use, never at build. */
  authSecret(): string;
  authOptions(): AuthOptions;
  /**
   * The routes served on plain Node HTTP by the custom server in front of Next.js
   * (scripts/server.mjs): true when it took the request (the event stream, sign-up), false for Next.js.
   */
  serveNodeRoute(request: IncomingMessage, response: ServerResponse): boolean;
  /** Starts the driver (the in-process runner's sweep and recovery). */
  start(): Promise<void>;
  /** Stops the driver, then closes the database. */
  stop(): Promise<void>;
}

export interface InngestRuntime {
  client: MontageInngest;
  functions: ReturnType<typeof createFunctions>;
  /** The /api/inngest handlers (sync, introspection, steps), signature-checked in cloud mode. */
  serve: ReturnType<typeof serve>;
}

export interface RuntimeOverrides {
  logger?: Logger;
  /** Providers of the test's own (fakes, scripted failures). */
  providers?: ProviderRuntime;
  /** Workflows of the test's own, instead of workflows/. */
  registry?: Registry;
  inngest?: InngestClientOverrides;
  /** Where verified Replicate webhooks are forwarded, instead of the driver's own forwarding. */
  forwardPredictionCompleted?: PredictionCompletedForwarder;
}

export function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Runtime {
  const logger = overrides.logger ?? createLogger({ level: config.LOG_LEVEL });
  const { store, prisma, close } = openDatabase(config.database);
  const registry = overrides.registry ?? buildRegistry(discoveredWorkflows, discoveryProblems);
  const findWorkflow = (id: string) => registry.workflows.get(id);
  const notifier = new JobNotifier();
  const onInngest = inngestMode(config) !== undefined;
  const scope = new InngestStepScope();
  const providers =
    overrides.providers ??
    createProviders(config, logger.child({ component: "providers" }), onInngest ? { wrapWebhookWait: (inProcess) => waitForPredictionUnderInngest(scope, inProcess) } : {});
  const checkHealth = (name: string) => checkProviderHealth(providers, name);
  const estimates = new QueueEstimates({ store, concurrency: config.WORKFLOW_CONCURRENCY });
  const tracing = startTracing(config, logger.child({ component: "tracing" }));
  const engine: EngineDeps = {
    store,
    notifier,
    providers,
    findWorkflow,
    logger,
    retryBackoffSeconds: config.retryBackoffSeconds,
    estimates,
    ...(tracing.tracer && { tracer: tracing.tracer }),
    // A job failed past its deadline: the predictions its unfinished steps saved are canceled, as for a user's cancel.
    async cancelSavedWork(jobId) {
      const job = await store.getJob(jobId).catch(() => undefined);
      if (job) await cancelSavedPredictions(providers, logger, jobId, checkpointLayout(job.checkpoints));
    },
  };
  const webhooks = new WebhookDispatcher({
    store,
    logger: logger.child({ component: "webhooks" }),
    retryBaseSeconds: config.WEBHOOK_RETRY_BASE_SECONDS,
    retryMaxSeconds: config.WEBHOOK_RETRY_MAX_SECONDS,
    retryWindowSeconds: config.WEBHOOK_RETRY_WINDOW_SECONDS,
    timeoutMs: config.WEBHOOK_TIMEOUT_SECONDS * 1000,
    allowInsecure: config.OUTPUT_FETCH_ALLOW_INSECURE,
    pollIntervalMs: Math.min(config.sweepIntervalSeconds, 5) * 1000,
  });

  let inngest: InngestRuntime | undefined;
  let driver: WorkflowDriver;
  if (onInngest) {
    const client = createInngestClient(config, logger, overrides.inngest);
    const functions = createFunctions(client, { engine, scope, checkHealth, dispatchWebhooks: () => webhooks.pass(), settings: inngestSettings(config, registry.workflows.values()) });
    inngest = { client, functions, serve: serve({ client, functions }) };
    driver = createInngestDriver({ store, send: (event) => client.send(event), logger });
  } else {
    // The runner says when its line changed; the announcer tells the waiting jobs their new places.
    const announcer: QueueAnnouncer = new QueueAnnouncer({
      store,
      notifier,
      estimates,
      findWorkflow,
      logger: logger.child({ component: "queue" }),
      // Called on the first change of the line, after the runner below exists.
      waiting: () => inProcess.runner.waiting(),
    });
    const inProcess = createInProcessDriver({
      engine,
      checkHealth,
      concurrency: config.WORKFLOW_CONCURRENCY,
      userConcurrency: config.WORKFLOW_USER_CONCURRENCY,
      leaseMs: config.WORKFLOW_LEASE_SECONDS * 1000,
      sweepIntervalMs: config.sweepIntervalSeconds * 1000,
      sweepBatch: config.WORKFLOW_SWEEP_BATCH,
      recheckSeconds: config.providerRecheckSeconds,
      onTick: () => webhooks.kick(),
      onLineChange: () => announcer.schedule(),
    });
    driver = inProcess;
  }
  const wakeups = new CrossProcessWakeups(store, notifier, logger);
  const replicateWebhooks = new ReplicateWebhookReceiver({
    store,
    replicate: providers.replicate,
    configuredSecret: config.REPLICATE_WEBHOOK_SECRET,
    logger,
    // Under Inngest a finished prediction resumes the run waiting for it (step.waitForEvent); in-process the waiters suffice.
    forward:
      overrides.forwardPredictionCompleted ??
      (inngest ? async (event) => void (await inngest.client.send(predictionCompletedEvent({ id: event.prediction_id, status: event.status }))) : async () => undefined),
  });

  const authThrottle = new AuthThrottle(config);
  const passwordHasher = new PasswordHasher({ threads: config.PASSWORD_HASH_THREADS, maxQueued: config.PASSWORD_HASH_QUEUE });
  let authSecret: string | undefined;
  let authOptions: AuthOptions | undefined;
  const runtime: Runtime = {
    config,
    logger,
    store,
    prisma,
    registry,
    findWorkflow,
    notifier,
    wakeups,
    streams: new JobStreams({ store, notifier, wakeups, logger: logger.child({ component: "streams" }) }),
    providers,
    checkHealth,
    engine,
    driver,
    estimates,
    inngest,
    limits: new RateLimits(config),
    authThrottle,
    passwordHasher,
    replicateWebhooks,
    serveNodeRoute: (request, response) => serveNodeRoute(runtime, request, response),
    webhooks,
    tracing,
    authSecret: () => (authSecret ??= readAuthSecret(config)),
    authOptions: () => {
      // next-auth v4 takes its own URL (redirects, callbacks) from NEXTAUTH_URL alone, and falls
      // back to http://localhost:3000: without it, a server on another port would redirect there.
      process.env.NEXTAUTH_URL ||= config.NEXTAUTH_URL ?? config.publicBaseUrl;
      return (authOptions ??= buildAuthOptions({ config, store, logger, secret: runtime.authSecret(), secureCookies: useSecureCookies(config), authThrottle, passwordHasher }));
    },
    async start() {
      logger.info("montage starting", { database: config.database.provider, data_dir: config.dataDir, workflows: [...registry.workflows.keys()], driver: driver.name });
      for (const { folder, problem } of registry.problems) logger.error("workflow folder skipped", { folder: `workflows/${folder}`, problem });
      await driver.start();
      // Every event a run commits here may have a message to send: the notification wakes the dispatcher.
      notifier.onAny(() => webhooks.kick());
      webhooks.start();
    },
    async stop() {
      await webhooks.stop();
      await driver.stop();
      // After the driver: the spans of the runs it just stopped are exported too.
      await tracing.shutdown();
      await passwordHasher.close();
      await close();
    },
  };
  return runtime;
}

/**
 * The process's runtime. Next.js bundles route handlers, pages and instrumentation separately, each
 * with its own copy of every module, so the one runtime lives in a process-wide slot: the only
 * service on globalThis in Montage (lib/server/http-guard.ts keeps there only a flag that it is
 * installed, for the same reason). It also survives development hot reloads.
 */
const SLOT = Symbol.for("montage.runtime");
type Slot = { [SLOT]?: Runtime };

export function runtime(): Runtime {
  const slot = globalThis as Slot;
  return (slot[SLOT] ??= createRuntime(loadConfig(process.env)));
}

/** Installs a runtime as the process's (tests and scripts that call route handlers); undefined forgets it. */
export function installRuntime(installed: Runtime | undefined): void {
  (globalThis as Slot)[SLOT] = installed;
}
