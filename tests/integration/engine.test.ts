import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { authed, createUserWithToken, executeRequest, jobParams, jpegBlob, readSse, waitForJobStatus } from "../helpers/api";
import type { Checkpoints } from "@/lib/contract/events";
import type { Db } from "@/lib/db/client";
import type { Workflow } from "@/lib/workflows/definition";
import type { Providers } from "@/lib/providers/types";

/**
 * The engine on real databases: parking and resuming from checkpoints, hard failures, giving up
 * after the last attempt, cancel, and leases that keep two runners off one execution.
 */
describe.each<Provider>(["sqlite", "postgresql"])("engine on %s", (provider) => {
  let database: TestDatabase;
  let m: Awaited<ReturnType<typeof load>>;
  let userId: string;
  let token: string;

  async function load() {
    return {
      db: (await import("@/lib/db/client")).db,
      executor: await import("@/lib/engine/executor"),
      runner: await import("@/lib/engine/in-process-runner"),
      sweep: await import("@/lib/engine/sweep"),
      errors: await import("@/lib/workflows/errors"),
      providers: await import("@/lib/providers"),
      log: (await import("@/lib/log")).log,
      execute: await import("@/app/workflows/execute/route"),
      retry: await import("@/app/workflows/retry/[jobId]/route"),
      cancel: await import("@/app/workflows/cancel/[jobId]/route"),
      stream: await import("@/app/jobs/[jobId]/stream/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // The video step answers "quota exceeded" once; the sweep never fires by itself in this test.
    await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    m = await load();
    ({ userId, token } = await createUserWithToken(`engine-${provider}@example.com`));
  });

  afterAll(async () => {
    await useTestEnvironment(database);
    await database.drop();
  });

  /** Step-start events: the engine writes one right before each call of a step's handler. */
  async function handlerStarts(jobId: string) {
    const events = await m.db().jobEvent.findMany({ where: { jobId, type: "progress" }, orderBy: { id: "asc" } });
    return events
      .map((e) => e.data as { step: number; step_progress: number; message?: string })
      .filter((d) => d.step_progress === 0 && d.message !== "Queued" && d.message !== "Retry requested" && !d.message?.startsWith("Reading"))
      .map((d) => d.step);
  }

  it("parks a quota failure at step 3, then the sweep resumes it there without re-running steps 1 and 2", async () => {
    const response = await m.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob() }));
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const parked = await waitForJobStatus(jobId, ["pending_retry"]);
    expect(parked.errorCode).toBe("quota");
    expect(parked.nextRetryAt!.getTime()).toBeGreaterThan(Date.now());
    const checkpoints = parked.execution!.checkpoints as unknown as Checkpoints;
    expect(checkpoints["0"]?.status).toBe("completed");
    expect(checkpoints["1"]?.status).toBe("completed");
    expect(checkpoints["2"]).toMatchObject({ status: "failed_retryable", error_class: "retryable", error_reason: "quota", error: expect.stringMatching(/quota/i) });
    expect(parked.execution).toMatchObject({ retryCount: 1, lastErrorClass: "retryable", lastErrorReason: "quota", lastErrorProvider: "local-models" });

    // Not due yet: the sweep leaves it alone.
    const early = await m.sweep.sweepDueJobs({ database: m.db(), batchSize: 10, checkHealth: async () => ({ healthy: true }), deferSeconds: 60, logger: m.log });
    expect(early.resumed).toEqual([]);

    // An unhealthy provider keeps it parked without spending an attempt.
    const later = new Date(Date.now() + 3_600_000);
    const unhealthy = await m.sweep.sweepDueJobs({
      database: m.db(),
      batchSize: 10,
      checkHealth: async () => ({ healthy: false, detail: "still out of credit" }),
      deferSeconds: 60,
      logger: m.log,
      now: later,
    });
    expect(unhealthy).toMatchObject({ due: 1, resumed: [], deferred: 1 });

    const due = new Date(Date.now() + 7_200_000);
    const healthy = await m.sweep.sweepDueJobs({
      database: m.db(),
      batchSize: 10,
      checkHealth: (name) => m.providers.checkProviderHealth(m.providers.providers(), name),
      deferSeconds: 60,
      logger: m.log,
      now: due,
    });
    expect(healthy.resumed).toEqual([jobId]);
    const { workflowDriver } = await import("@/lib/engine/driver");
    await workflowDriver().enqueue(jobId);
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.attempts).toBe(2);
    expect(await handlerStarts(jobId)).toEqual([0, 1, 2, 2]);

    const events = await readSse(await m.stream.GET(authed(token, `/jobs/${jobId}/stream`), jobParams(jobId)));
    const retryScheduled = events.find((e) => e.event === "retry_scheduled")!;
    expect(retryScheduled.data).toMatchObject({ step: 2, step_name: "video_generation", reason: "quota", retry_count: 1, max_retries: 5, next_retry_at: expect.any(String) });
    expect(events.at(-1)!.event).toBe("complete");
  });

  it("a manual retry resumes a parked job from its last checkpoint, probing the provider whose circuit opened", async () => {
    // Re-arm the fault switch for this test by building fresh providers.
    const { createProviders } = m.providers;
    const { config } = await import("@/lib/config");
    (globalThis as { montageProviders?: Providers }).montageProviders = createProviders({ ...config(), LOCAL_PROVIDER_FAULTS: "video:quota:1" });
    (globalThis as { montageDriver?: unknown }).montageDriver = undefined;
    (globalThis as { montageDriverStarted?: unknown }).montageDriverStarted = undefined;
    const response = await m.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob() }));
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    await waitForJobStatus(jobId, ["pending_retry"]);
    const retried = await m.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ success: true, job: { id: jobId }, stream_url: `/jobs/${jobId}/stream` });
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.execution!.retryCount).toBe(0);
    expect(await handlerStarts(jobId)).toEqual([0, 1, 2, 2]);
  });

  describe("with counting handlers", () => {
    function countingWorkflow(id: string, behaviour: (step: string, call: number, signal: AbortSignal) => Promise<void>) {
      const calls: Record<string, number> = {};
      const handler = (name: string) => async ({ signal }: { signal: AbortSignal }) => {
        calls[name] = (calls[name] ?? 0) + 1;
        await behaviour(name, calls[name], signal);
        return { [`${name}_url`]: `https://example.test/${name}` };
      };
      const workflow: Workflow = {
        config: {
          id,
          name: id,
          description: "",
          icon: "🧪",
          steps: ["a", "b", "c"].map((name) => ({ name, type: "generation", label: name })),
          inputs: [],
          retry: { max_attempts: 3, backoff_seconds: 0.001 },
        },
        handlers: { a: handler("a"), b: handler("b"), c: handler("c") },
      };
      return { workflow, calls };
    }

    async function newJob(workflowId: string, db: Db) {
      const job = await db.job.create({
        data: {
          userId,
          workflowId,
          status: "queued",
          inputs: {},
          execution: { create: { workflowId, checkpoints: {}, maxRetries: 3 } },
        },
      });
      return job.id;
    }

    function run(workflow: Workflow, jobId: string, signal = new AbortController().signal) {
      return m.executor.runExecution(jobId, {
        runner: m.executor.directStepRunner,
        providers: m.providers.providers(),
        signal,
        retryBaseSeconds: 0.001,
        defaultMaxRetries: 3,
        database: m.db(),
        logger: m.log,
        findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined),
      });
    }

    async function resumeParked(jobId: string) {
      await m.db().job.update({ where: { id: jobId }, data: { status: "queued" } });
    }

    it("gives up after the last attempt with the last reason, and stops", async () => {
      const { workflow, calls } = countingWorkflow("always-rate-limited", async (step) => {
        if (step === "b") throw new m.errors.RetryableError("rate_limit", "Request was throttled", { retryAfterSeconds: 0 });
      });
      const jobId = await newJob(workflow.config.id, m.db());
      expect((await run(workflow, jobId)).status).toBe("pending_retry");
      await resumeParked(jobId);
      expect((await run(workflow, jobId)).status).toBe("pending_retry");
      await resumeParked(jobId);
      const last = await run(workflow, jobId);
      expect(last).toMatchObject({ status: "failed", code: "rate_limit", message: "Gave up after 3 attempts: Request was throttled" });
      expect(calls).toEqual({ a: 1, b: 3 });
      const job = await m.db().job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } });
      expect(job).toMatchObject({ status: "failed", error: "Gave up after 3 attempts: Request was throttled" });
      expect(job.execution!.retryCount).toBe(3);
      expect((await run(workflow, jobId)).status).toBe("skipped");
    });

    it("fails a hard error at once with a clear reason, and a circuit-open refusal parks without spending an attempt", async () => {
      const { workflow, calls } = countingWorkflow("hard-then-gate", async (step, call) => {
        if (step === "a" && call === 1) throw new m.errors.RetryableError("quota", "circuit open for local-models", { parkOnly: true });
        if (step === "c") throw new m.errors.HardError("content_rejected", "The model refused this image");
      });
      const jobId = await newJob(workflow.config.id, m.db());
      expect(await run(workflow, jobId)).toMatchObject({ status: "pending_retry" });
      expect((await m.db().workflowExecution.findUniqueOrThrow({ where: { jobId } })).retryCount).toBe(0);
      await resumeParked(jobId);
      expect(await run(workflow, jobId)).toEqual({ status: "failed", code: "content_rejected", message: "The model refused this image" });
      expect(calls).toEqual({ a: 2, b: 1, c: 1 });
      const events = await m.db().jobEvent.findMany({ where: { jobId, type: "error" } });
      expect(events.map((e) => e.data)).toEqual([
        { status: "failed", code: "content_rejected", error: "The model refused this image", step: 2, step_name: "c" },
      ]);
    });

    it("lets only one of two runners run an execution at a time", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const { workflow, calls } = countingWorkflow("leased", async (step) => {
        if (step === "a") await gate;
      });
      const jobId = await newJob(workflow.config.id, m.db());
      const { acquireLease } = await import("@/lib/engine/lease");
      const [first, second] = await Promise.all([acquireLease(m.db(), jobId, "host-x:1:a", 30_000), acquireLease(m.db(), jobId, "host-x:2:b", 30_000)]);
      expect([first, second].filter(Boolean)).toHaveLength(1);
      const running = run(workflow, jobId);
      release();
      await running;
      expect(calls).toEqual({ a: 1, b: 1, c: 1 });
    });

    it("two in-process runners racing for the same jobs run each step once", async () => {
      const { workflow, calls } = countingWorkflow("raced", async () => undefined);
      const jobIds = await Promise.all(Array.from({ length: 6 }, () => newJob(workflow.config.id, m.db())));
      const common = {
        database: m.db(),
        providers: m.providers.providers(),
        checkHealth: async () => ({ healthy: true }),
        concurrency: 3,
        leaseMs: 30_000,
        sweepIntervalMs: 60_000,
        sweepBatch: 50,
        retryBaseSeconds: 1,
        maxRetries: 3,
        logger: m.log,
        findWorkflow: (id: string) => (id === workflow.config.id ? workflow : undefined),
      };
      const runners = [new m.runner.InProcessRunner(common), new m.runner.InProcessRunner(common)];
      for (const jobId of jobIds) for (const runner of runners) runner.enqueue(jobId);
      await Promise.all(runners.map((r) => r.idle()));
      for (const jobId of jobIds) await waitForJobStatus(jobId, ["completed"], 10_000);
      expect(calls).toEqual({ a: 6, b: 6, c: 6 });
      await Promise.all(runners.map((r) => r.stop()));
    });

    it("cancel stops a running step, and its job stays canceled", async () => {
      let started!: () => void;
      const stepStarted = new Promise<void>((resolve) => (started = resolve));
      const { workflow, calls } = countingWorkflow("canceled", async (step, _call, signal) => {
        if (step !== "b") return;
        started();
        await new Promise((_resolve, reject) => signal.addEventListener("abort", () => reject(signal.reason), { once: true }));
      });
      const jobId = await newJob(workflow.config.id, m.db());
      const controller = new AbortController();
      const running = run(workflow, jobId, controller.signal);
      await stepStarted;
      const { cancelJob } = await import("@/lib/jobs/service");
      await cancelJob(userId, jobId);
      controller.abort(new m.errors.CanceledError());
      expect(await running).toEqual({ status: "canceled" });
      expect(calls).toEqual({ a: 1, b: 1 });
      const job = await m.db().job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } });
      expect(job.status).toBe("canceled");
      expect((job.execution!.checkpoints as unknown as Checkpoints)["1"]?.status).toBe("canceled");
      const errors = await m.db().jobEvent.findMany({ where: { jobId, type: "error" } });
      expect(errors).toHaveLength(1);
    });
  });
});
