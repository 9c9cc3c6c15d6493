/**
 * Shared set-up for the Inngest tests: a runtime on Inngest (INNGEST_DEV) on a migrated SQLite
 * database of its own, the real local providers, a test Inngest client whose event sends are
 * captured instead of reaching a server, and jobs stored the way POST /workflows/execute stores them.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { InngestTestEngine, mockCtx } from "@inngest/test";
import type { Context } from "inngest";
import { vi } from "vitest";
import type { Config } from "@/lib/config";
import { createInngestClient } from "@/lib/inngest/client";
import type { InngestDeps, InngestSettings } from "@/lib/inngest/deps";
import { jobQueuedEvent } from "@/lib/inngest/events";
import { InngestStepScope } from "@/lib/inngest/step-runner";
import { queuedEvent } from "@/lib/jobs/service";
import { silentLogger } from "@/lib/log";
import type { HealthStatus } from "@/lib/providers/types";
import { FaultSwitch } from "@/lib/providers/local/faults";
import { LocalModels } from "@/lib/providers/local/models";
import { LocalStorage } from "@/lib/providers/local/storage";
import type { Providers } from "@/lib/providers/types";
import type { Runtime } from "@/lib/server/runtime";
import type { Workflow } from "@/lib/workflows/definition";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";

const FIXTURE = path.resolve(import.meta.dirname, "..", "fixtures", "photo.png");

export interface TestEnv {
  /** The installed runtime (tests/helpers/api.ts reads jobs through it). */
  rt: Runtime;
  config: Config;
  dataDir: string;
  /** The step scope the test's functions and providers share (one per runtime in production). */
  scope: InngestStepScope;
  userId: string;
  cleanup(): Promise<void>;
}

const refuseToSend: typeof fetch = () => Promise.reject(new Error("this test's runtime sends no events to Inngest"));

export async function createTestEnv(): Promise<TestEnv> {
  const testDb: TestDatabase = await createTestDatabase("sqlite");
  // Nothing may reach an Inngest server: the runtime's own client refuses to send.
  const rt = await useTestEnvironment(testDb, { INNGEST_DEV: "1", WORKFLOW_RETRY_BACKOFF_SECONDS: "60" }, { inngest: { fetch: refuseToSend } });
  const user = await rt.prisma.user.create({ data: { email: `inngest-${Date.now()}@example.test` } });
  return {
    rt,
    config: rt.config,
    dataDir: testDb.dataDir,
    scope: new InngestStepScope(),
    userId: user.id,
    async cleanup() {
      await closeTestEnvironment();
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
  userConcurrency: 2,
  concurrency: 4,
  runStartsPerMinute: 300,
  sweepBatch: 50,
  retryCron: "*/5 * * * *",
  recheckSeconds: 300,
  cancelPollMs: 50,
};

export interface TestDepsOverrides {
  findWorkflow?: (id: string) => Workflow | undefined;
  checkHealth?: (provider: string) => Promise<HealthStatus>;
}

/** What the composition root hands the Inngest functions, with the test's providers (and workflows). */
export function testDeps(env: TestEnv, providers: Providers, overrides: TestDepsOverrides = {}): InngestDeps {
  return {
    engine: { ...env.rt.engine, providers, ...(overrides.findWorkflow && { findWorkflow: overrides.findWorkflow }) },
    scope: env.scope,
    checkHealth: overrides.checkHealth ?? (async () => ({ healthy: true })),
    settings: TEST_SETTINGS,
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
  return { client: createInngestClient(env.config, silentLogger, { fetch: fetchStub }), sent };
}

export interface InsertJobOptions {
  /** Default: the installed img-edit-to-video. */
  workflow?: Workflow;
  /** A state to put the stored job in (a test fixture, written with Prisma). */
  status?: string;
  attempts?: number;
  maxAttempts?: number;
  inputs?: Record<string, string>;
  /** Steps the job stops before until a person approves (indexes). */
  approvalSteps?: number[];
  /** Steps that run as several candidates. */
  candidates?: { steps: Record<number, number>; autoPick: boolean };
}

/** A job as createJob stores it (job, execution, upload, first event), without handing it to a driver. */
export async function insertJob(env: TestEnv, options: InsertJobOptions = {}): Promise<string> {
  const workflow = options.workflow ?? env.rt.findWorkflow("img-edit-to-video");
  if (!workflow) throw new Error("img-edit-to-video is not installed");
  const data = await readFile(FIXTURE);
  const jobId = await env.rt.store.insertJob({
    userId: env.userId,
    workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
    inputs: options.inputs ?? { edit_prompt: "Make it warm", video_prompt: "Slow push-in" },
    maxAttempts: options.maxAttempts ?? 5,
    firstEvent: queuedEvent(workflow),
    upload: { filename: "photo.png", contentType: "image/png", data, width: 320, height: 240 },
    ...(options.approvalSteps && { approvalSteps: options.approvalSteps }),
    ...(options.candidates && { candidates: options.candidates }),
  });
  if (options.status !== undefined || options.attempts !== undefined) {
    await env.rt.prisma.job.update({
      where: { id: jobId },
      data: { ...(options.status !== undefined && { status: options.status }), ...(options.attempts !== undefined && { attempts: options.attempts }) },
    });
  }
  return jobId;
}

/** The job's queued event, as the driver sends it for the job's current attempt. */
export async function queuedEventOf(env: TestEnv, jobId: string) {
  const job = await env.rt.store.readQueuedJob(jobId);
  if (!job) throw new Error(`no job ${jobId}`);
  return jobQueuedEvent(job);
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

/**
 * An @inngest/test engine running `fn` on the job's queued event, its steps recorded, whose
 * `step.waitForEvent` is answered by `answer` (@inngest/test 1.0 cannot satisfy a wait with inngest
 * 4.24). The first invocations replay the waits already answered: each distinct wait id is answered once.
 */
export async function engineAnsweringWaits(
  env: TestEnv,
  fn: ConstructorParameters<typeof InngestTestEngine>[0]["function"],
  jobId: string,
  answer: (waitId: string, options: unknown) => Promise<unknown>,
) {
  const waitForEvent = vi.fn(answer);
  const answered = new Map<string, unknown>();
  const recorder = recordExecutedSteps((ctx) => {
    const step = Object.assign(Object.create(Object.getPrototypeOf(ctx.step) as object) as object, ctx.step, {
      waitForEvent: async (waitId: string, options: unknown) => {
        if (!answered.has(waitId)) answered.set(waitId, await waitForEvent(waitId, options));
        return answered.get(waitId);
      },
    }) as Context.Any["step"];
    return { ...ctx, step };
  });
  const engine = new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)], transformCtx: recorder.transformCtx });
  return { engine, waitForEvent, executed: recorder.executed };
}
