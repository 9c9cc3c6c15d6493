/**
 * Shared set-up for the Inngest tests: a migrated SQLite database of their own, the real local
 * providers, a test Inngest client whose event sends are captured instead of reaching a server,
 * and helpers to insert jobs the way POST /workflows/execute stores them.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { mockCtx } from "@inngest/test";
import type { Context } from "inngest";
import { loadConfig, type Config } from "@/lib/config";
import { createDb, type Db } from "@/lib/db/client";
import { resolveDatabase } from "@/lib/db/database-url";
import { createInngestClient } from "@/lib/inngest/client";
import type { InngestDeps, InngestSettings } from "@/lib/inngest/deps";
import { log, setLogLevel } from "@/lib/log";
import { FaultSwitch } from "@/lib/providers/local/faults";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import type { Providers } from "@/lib/providers/types";
import { findWorkflow } from "@/lib/workflows/registry";
import { createTestDatabase, type TestDatabase } from "@/tests/helpers/db";

const FIXTURE = path.resolve(import.meta.dirname, "..", "fixtures", "photo.png");

export interface TestEnv {
  database: Db;
  dataDir: string;
  config: Config;
  userId: string;
  cleanup(): Promise<void>;
}

export async function createTestEnv(): Promise<TestEnv> {
  setLogLevel("silent");
  const testDb: TestDatabase = await createTestDatabase("sqlite");
  const config = loadConfig({ DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, INNGEST_DEV: "1", LOG_LEVEL: "silent" });
  const database = createDb(resolveDatabase(testDb.url, testDb.dataDir));
  const user = await database.user.create({ data: { email: `inngest-${Date.now()}@example.test` } });
  return {
    database,
    dataDir: testDb.dataDir,
    config,
    userId: user.id,
    async cleanup() {
      await database.$disconnect();
      await testDb.drop();
    },
  };
}

/** The embedded providers (real image edit and ffmpeg video), with a fault switch of their own. */
export function localProviders(env: TestEnv, faults = ""): Providers {
  const switchboard = new FaultSwitch(faults, { gateDir: path.join(env.dataDir, "gates") });
  const storage = new LocalStorage({ rootDir: path.join(env.dataDir, "media"), publicBaseUrl: "http://localhost:3999", faults: switchboard });
  const models = new LocalModels({ readMedia: (url, signal) => storage.read(url, signal), faults: switchboard });
  return { storage, models };
}

export const TEST_SETTINGS: InngestSettings = {
  retryBaseSeconds: 60,
  maxRetries: 5,
  userConcurrency: 2,
  concurrency: 4,
  runStartsPerMinute: 300,
  sweepBatch: 50,
  retryCron: "*/5 * * * *",
  deferSeconds: 300,
  cancelPollMs: 50,
};

export function testDeps(env: TestEnv, providers: Providers, overrides: Partial<InngestDeps> = {}): InngestDeps {
  return {
    database: () => env.database,
    providers: () => providers,
    checkHealth: async () => ({ healthy: true }),
    logger: log,
    settings: TEST_SETTINGS,
    findWorkflow,
    ...overrides,
  };
}

export interface SentEvent {
  id?: string;
  name: string;
  data: Record<string, unknown>;
}

/** An Inngest client in dev mode whose event sends land in `sent` (one array per send call). */
export function capturingClient(env: TestEnv) {
  const sent: SentEvent[][] = [];
  const fetchStub: typeof fetch = async (_input, init) => {
    const events = JSON.parse(typeof init?.body === "string" ? init.body : "[]") as SentEvent[];
    sent.push(events);
    return new Response(JSON.stringify({ ids: events.map((_e, i) => `evt-${sent.length}-${i}`), status: 200 }), {
      status: 200,
      headers: { "content-type": "application/json" },
    });
  };
  return { client: createInngestClient(env.config, { fetch: fetchStub }), sent };
}

export interface InsertJobOptions {
  workflowId?: string;
  status?: string;
  attempts?: number;
  maxRetries?: number;
  inputs?: Record<string, string>;
}

/** A job as createJob stores it (job, execution, upload, first event), without handing it to a driver. */
export async function insertJob(env: TestEnv, options: InsertJobOptions = {}): Promise<string> {
  const workflowId = options.workflowId ?? "img-edit-to-video";
  const data = await readFile(FIXTURE);
  const job = await env.database.job.create({
    data: {
      userId: env.userId,
      workflowId,
      status: options.status ?? "queued",
      attempts: options.attempts ?? 0,
      inputs: options.inputs ?? { edit_prompt: "Make it warm", video_prompt: "Slow push-in" },
      execution: { create: { workflowId, checkpoints: {}, maxRetries: options.maxRetries ?? 5 } },
      upload: {
        create: { userId: env.userId, filename: "photo.png", contentType: "image/png", size: data.length, width: 320, height: 240, data: new Uint8Array(data) },
      },
      events: { create: { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } } },
    },
    select: { id: true },
  });
  return job.id;
}

export async function jobEvents(env: TestEnv, jobId: string): Promise<Array<{ type: string; data: Record<string, unknown> }>> {
  const events = await env.database.jobEvent.findMany({ where: { jobId }, orderBy: { id: "asc" } });
  return events.map((event) => ({ type: event.type, data: event.data as Record<string, unknown> }));
}

/**
 * Records which step functions really executed (not replayed from memoized state), across all
 * the invocations of a test run, keeping @inngest/test's spies.
 */
export function recordExecutedSteps(extra?: (ctx: Context.Any) => Context.Any) {
  const executed: string[] = [];
  const transformCtx = (raw: Context.Any): Context.Any => {
    const ctx = mockCtx(raw);
    const run = ctx.step.run.bind(ctx.step);
    const step = Object.assign(Object.create(Object.getPrototypeOf(ctx.step) as object | null) as object, ctx.step, {
      run: (id: string, fn: () => Promise<unknown>) =>
        run(id, async () => {
          executed.push(id);
          return fn();
        }),
    }) as Context.Any["step"];
    const wrapped = { ...ctx, step } as Context.Any;
    return extra ? extra(wrapped) : wrapped;
  };
  return { executed, transformCtx };
}
