import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessRunner } from "@/lib/engine/in-process-runner";
import { sweepDueJobs } from "@/lib/engine/sweep";
import type { EngineDeps } from "@/lib/engine/types";
import { cancelJob } from "@/lib/jobs/service";
import { createLogger, silentLogger } from "@/lib/log";
import type { Runtime } from "@/lib/server/runtime";
import type { Workflow } from "@/lib/workflows/definition";
import { CanceledError, HardError, RetryableError } from "@/lib/workflows/errors";
import { closeTestEnvironment, createTestDatabase, inProcessRunner, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { authed, createUserWithToken, eventsOf, executeRequest, jobParams, jpegBlob, readJob, readSse, waitForJobStatus } from "../helpers/api";
import { insertTestJob, runJob, testWorkflow } from "../helpers/engine";

/**
 * The engine on real databases: parking and resuming from checkpoints, hard failures, giving up
 * after the last attempt, cancel, leases and fencing that keep two runners off one execution, and
 * jobs pinned to the workflow version they started with.
 */
describe.each<Provider>(["sqlite", "postgresql"])("engine on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let routes: Awaited<ReturnType<typeof loadRoutes>>;
  let userId: string;
  let token: string;

  async function loadRoutes() {
    return {
      execute: await import("@/app/workflows/execute/route"),
      retry: await import("@/app/workflows/retry/[jobId]/route"),
      stream: await import("@/app/jobs/[jobId]/stream/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // The video step answers "quota exceeded" once; the sweep never fires by itself in this test.
    rt = await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    routes = await loadRoutes();
    ({ userId, token } = await createUserWithToken(`engine-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  /** Step-start events: the engine writes one right before each call of a step's handler. */
  async function handlerStarts(jobId: string) {
    return (await eventsOf(jobId, "progress"))
      .map((event) => event.data as { step: number; step_progress: number; message?: string })
      .filter((data) => data.step_progress === 0 && data.message !== "Queued" && data.message !== "Retry requested" && !data.message?.startsWith("Reading"))
      .map((data) => data.step);
  }

  it("parks a quota failure at step 3, then the sweep resumes it there without re-running steps 1 and 2", async () => {
    const response = await routes.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob() }));
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const parked = await waitForJobStatus(jobId, ["pending_retry"]);
    expect(parked.errorCode).toBe("quota");
    expect(parked.nextRetryAt!.getTime()).toBeGreaterThan(Date.now());
    expect(parked.layout["0"]?.status).toBe("completed");
    expect(parked.layout["1"]?.status).toBe("completed");
    expect(parked.layout["2"]).toMatchObject({ status: "failed_retryable", error_class: "retryable", error_reason: "quota", error: expect.stringMatching(/quota/i) });
    expect(parked.execution).toMatchObject({ retryCount: 1, lastErrorClass: "retryable", lastErrorReason: "quota", lastErrorProvider: "local-models" });

    const sweep = (now: Date, checkHealth: (name: string) => Promise<{ healthy: boolean; detail?: string }>) =>
      sweepDueJobs({ store: rt.store, batchSize: 10, checkHealth, recheckSeconds: 60, logger: silentLogger, now });
    // Not due yet: the sweep leaves it alone.
    expect((await sweep(new Date(), async () => ({ healthy: true }))).resumed).toEqual([]);
    // An unhealthy provider keeps it parked without spending an attempt.
    expect(await sweep(new Date(Date.now() + 3_600_000), async () => ({ healthy: false, detail: "still out of credit" }))).toMatchObject({ due: 1, resumed: [], deferred: 1 });

    const healthy = await sweep(new Date(Date.now() + 7_200_000), (name) => rt.checkHealth(name));
    expect(healthy.resumed).toEqual([{ id: jobId, userId, attempts: 1 }]);
    await rt.driver.enqueue(jobId);
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.attempts).toBe(2);
    expect(await handlerStarts(jobId)).toEqual([0, 1, 2, 2]);

    const events = await readSse(await routes.stream.GET(authed(token, `/jobs/${jobId}/stream`), jobParams(jobId)));
    const retryScheduled = events.find((e) => e.event === "retry_scheduled")!;
    expect(retryScheduled.data).toMatchObject({ step: 2, step_name: "video_generation", reason: "quota", retry_count: 1, max_retries: 5, next_retry_at: expect.any(String) });
    expect(events.at(-1)!.event).toBe("complete");
  });

  it("a manual retry resumes a parked job from its last checkpoint, probing the provider whose circuit opened", async () => {
    // A fresh runtime re-arms the fault switch (it counts in the providers' memory).
    rt = await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    const response = await routes.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob() }));
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    await waitForJobStatus(jobId, ["pending_retry"]);
    const retried = await routes.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(retried.status).toBe(200);
    expect(await retried.json()).toMatchObject({ success: true, job: { id: jobId }, stream_url: `/jobs/${jobId}/stream` });
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.execution.retryCount).toBe(0);
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
      const workflow = testWorkflow(id, { a: handler("a"), b: handler("b"), c: handler("c") }, { retry: { max_attempts: 3, backoff_seconds: 0.001 } });
      return { workflow, calls };
    }

    const engineFor = (workflow: Workflow, overrides: Partial<EngineDeps> = {}): EngineDeps => ({
      ...rt.engine,
      findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined),
      ...overrides,
    });
    const run = (workflow: Workflow, jobId: string, options: Parameters<typeof runJob>[2] = {}) => runJob(engineFor(workflow), jobId, options);
    /** What the sweep does to a due job: back to queued. */
    const resumeParked = async (jobId: string) => expect(await rt.store.claimRetry(jobId)).toBeDefined();
    const checkpointEvents = async (jobId: string) =>
      (await eventsOf(jobId, "checkpoint")).map((event) => `${String(event.data.step)}:${String(event.data.status)}`);

    it("gives up after the last attempt with the last reason, and stops", async () => {
      const { workflow, calls } = countingWorkflow("always-rate-limited", async (step) => {
        if (step === "b") throw new RetryableError("rate_limit", "Request was throttled", { retryAfterSeconds: 0 });
      });
      const jobId = await insertTestJob(rt.store, workflow, userId);
      expect((await run(workflow, jobId))?.status).toBe("pending_retry");
      await resumeParked(jobId);
      expect((await run(workflow, jobId))?.status).toBe("pending_retry");
      await resumeParked(jobId);
      const last = await run(workflow, jobId);
      expect(last).toMatchObject({ status: "failed", code: "rate_limit", message: "Gave up after 3 attempts: Request was throttled" });
      expect(calls).toEqual({ a: 1, b: 3 });
      const job = await readJob(jobId);
      expect(job).toMatchObject({ status: "failed", error: "Gave up after 3 attempts: Request was throttled", attempts: 3 });
      expect(job.execution.retryCount).toBe(3);
      expect((await run(workflow, jobId))?.status).toBe("skipped");
    });

    it("fails a hard error at once with a clear reason, and a circuit-open refusal parks without spending an attempt", async () => {
      const { workflow, calls } = countingWorkflow("hard-then-gate", async (step, call) => {
        if (step === "a" && call === 1) throw new RetryableError("quota", "circuit open for local-models", { parkOnly: true });
        if (step === "c") throw new HardError("content_rejected", "The model refused this image");
      });
      const jobId = await insertTestJob(rt.store, workflow, userId);
      expect(await run(workflow, jobId)).toMatchObject({ status: "pending_retry" });
      expect((await readJob(jobId)).execution.retryCount).toBe(0);
      await resumeParked(jobId);
      expect(await run(workflow, jobId)).toEqual({ status: "failed", code: "content_rejected", message: "The model refused this image" });
      expect(calls).toEqual({ a: 2, b: 1, c: 1 });
      expect((await eventsOf(jobId, "error")).map((e) => e.data)).toEqual([
        { status: "failed", code: "content_rejected", error: "The model refused this image", step: 2, step_name: "c" },
      ]);
    });

    it("stores an unknown error as a generic message with an error id, and logs the whole error (stack, cause) under that id", async () => {
      const lines: string[] = [];
      const logger = createLogger({
        level: "info",
        destination: new Writable({
          write(chunk: Buffer, _encoding, done) {
            lines.push(...chunk.toString().split("\n").filter(Boolean));
            done();
          },
        }),
      });
      const workflow = testWorkflow("buggy", {
        only: async () => {
          throw new Error("Cannot read properties of undefined (reading 'url') at /srv/montage/secret.ts", { cause: new Error("the root cause") });
        },
      });
      const jobId = await insertTestJob(rt.store, workflow, userId);
      const outcome = await runJob(engineFor(workflow, { logger }), jobId);
      expect(outcome).toMatchObject({ status: "failed", code: "step_failed" });
      const job = await readJob(jobId);
      const errorId = /error id ([0-9a-f]{12})/.exec(job.error ?? "")?.[1];
      expect(job.error).toBe(`The step "Step only" failed with an unexpected error (error id ${errorId}); the server log has the details under this id.`);
      expect(job.error).not.toContain("/srv/montage");
      expect(job.layout["0"]?.error).toBe(job.error);
      const streamed = await eventsOf(jobId, "error");
      expect(streamed.map((event) => event.data.error)).toEqual([job.error]);
      const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.error_id === errorId);
      expect(logged).toMatchObject({ level: "error", job_id: jobId, step_name: "only", err: { message: expect.stringContaining("/srv/montage/secret.ts"), stack: expect.stringContaining("Error: Cannot read") } });
      expect(JSON.stringify(logged)).toContain("the root cause");
    });

    it("lets only one of several runners take an execution at a time", async () => {
      const { workflow } = countingWorkflow("leased", async () => undefined);
      const jobId = await insertTestJob(rt.store, workflow, userId);
      const taken = await Promise.all(["host-x:1:a", "host-x:2:b", "host-x:3:c"].map((owner) => rt.store.leaseRun(jobId, owner, { ttlMs: 30_000 })));
      expect(taken.filter(Boolean)).toHaveLength(1);
    });

    it("fences a runner that stalled past its lease: another takes over, and nothing the stale one writes lands", async () => {
      let releaseStalled!: () => void;
      const stalled = new Promise<void>((resolve) => (releaseStalled = resolve));
      let stallStarted!: () => void;
      const stallHasStarted = new Promise<void>((resolve) => (stallStarted = resolve));
      const { workflow, calls } = countingWorkflow("fenced", async (step, call) => {
        // The first runner stalls inside step b (as if paused by SIGSTOP), past its lease.
        if (step === "b" && call === 1) {
          stallStarted();
          await stalled;
        }
      });
      const jobId = await insertTestJob(rt.store, workflow, userId);
      const stale = run(workflow, jobId, { owner: "host-stale:1:a", ttlMs: 200 });
      await stallHasStarted;
      await new Promise((resolve) => setTimeout(resolve, 250)); // the stale runner's lease expires; it renews nothing
      const fresh = await run(workflow, jobId, { owner: "host-fresh:2:b" });
      expect(fresh).toMatchObject({ status: "completed" });
      releaseStalled();
      // The stale runner's step ends, and its commit is refused: it stops, having written nothing.
      expect(await stale).toEqual({ status: "stopped", why: "job changed state or was taken over" });
      expect(calls).toEqual({ a: 1, b: 2, c: 1 });
      expect(await checkpointEvents(jobId)).toEqual(["0:completed", "1:completed", "2:completed"]);
      const job = await readJob(jobId);
      expect(job).toMatchObject({ status: "completed", result: { c_url: "https://example.test/c" } });
      expect(Object.values(job.layout).map((checkpoint) => checkpoint.status)).toEqual(["completed", "completed", "completed"]);
    });

    it("two in-process runners racing for the same jobs run each step once", async () => {
      const { workflow, calls } = countingWorkflow("raced", async () => undefined);
      const jobIds = await Promise.all(Array.from({ length: 6 }, () => insertTestJob(rt.store, workflow, userId)));
      const options = {
        engine: engineFor(workflow),
        checkHealth: async () => ({ healthy: true }),
        concurrency: 3,
        leaseMs: 30_000,
        sweepIntervalMs: 60_000,
        sweepBatch: 50,
        recheckSeconds: 1,
      };
      const runners = [new InProcessRunner(options), new InProcessRunner(options)];
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
      const jobId = await insertTestJob(rt.store, workflow, userId);
      const controller = new AbortController();
      const running = run(workflow, jobId, { signal: controller.signal });
      await stepStarted;
      await cancelJob(rt, userId, jobId);
      controller.abort(new CanceledError());
      expect(await running).toEqual({ status: "canceled" });
      expect(calls).toEqual({ a: 1, b: 1 });
      const job = await readJob(jobId);
      expect(job.status).toBe("canceled");
      expect(job.layout["1"]?.status).toBe("canceled");
      expect(await eventsOf(jobId, "error")).toHaveLength(1);
    });
  });

  describe("jobs pinned to the workflow version they started with", () => {
    /** Parks a job of `before` at its second step, then resumes it on `after` (a deploy happened meanwhile). */
    async function parkThenResumeOn(before: Workflow, after: Workflow) {
      let failing = true;
      const behaviour = async () => {
        if (failing) throw new RetryableError("outage", "down for a moment");
        return { done: true };
      };
      const pinned: Workflow = { ...before, handlers: { ...before.handlers, [before.config.steps[1]!.name]: behaviour } };
      const jobId = await insertTestJob(rt.store, pinned, userId);
      const engine = (workflow: Workflow): EngineDeps => ({ ...rt.engine, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) });
      expect(await runJob(engine(pinned), jobId)).toMatchObject({ status: "pending_retry" });
      failing = false;
      expect(await rt.store.claimRetry(jobId)).toBeDefined();
      return { jobId, outcome: await runJob(engine(after), jobId) };
    }
    const ok = async () => ({ ok: true });

    it("resumes when the steps it ran and resumes at are unchanged (a later step and labels changed)", async () => {
      const before = testWorkflow("versioned-ok", { first: ok, second: ok, third: ok });
      const after: Workflow = { ...testWorkflow("versioned-ok", { first: ok, second: ok, fourth: ok }), version: "test-2" };
      const { jobId, outcome } = await parkThenResumeOn(before, after);
      expect(outcome).toMatchObject({ status: "completed" });
      expect((await readJob(jobId)).workflowVersion).toBe("test-1");
    });

    it("fails with workflow_changed when a step up to the one it resumes at changed", async () => {
      const before = testWorkflow("versioned-changed", { first: ok, second: ok, third: ok });
      const after: Workflow = { ...testWorkflow("versioned-changed", { first: ok, renamed: ok, third: ok }), version: "test-2" };
      const { jobId, outcome } = await parkThenResumeOn(before, after);
      const message = 'The workflow "versioned-changed" changed since this job started (step 2 was "second" and is now "renamed"), so it cannot resume where it stopped. Start a new run.';
      expect(outcome).toEqual({ status: "failed", code: "workflow_changed", message });
      expect(await readJob(jobId)).toMatchObject({ status: "failed", errorCode: "workflow_changed", error: message });
      expect((await eventsOf(jobId, "error")).map((event) => event.data)).toEqual([{ status: "failed", code: "workflow_changed", error: message }]);
    });

    it("refuses a manual retry of such a job with 409 workflow_changed, and leaves the job as it is", async () => {
      const installed = rt.findWorkflow("img-edit-to-video")!;
      // A parked job of an older img-edit-to-video, whose second step has since been renamed.
      const [upload, imageEdit, video] = installed.config.steps;
      const down = async () => Promise.reject(new RetryableError("outage", "down"));
      const old: Workflow = { config: { ...installed.config, steps: [upload!, { ...imageEdit!, name: "edit" }, video!] }, handlers: { upload: ok, edit: down, video_generation: ok }, version: "old-version" };
      const jobId = await insertTestJob(rt.store, old, userId);
      expect(await runJob({ ...rt.engine, findWorkflow: () => old }, jobId)).toMatchObject({ status: "pending_retry" });
      const response = await routes.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
      expect(response.status).toBe(409);
      expect(await response.json()).toEqual({
        success: false,
        error: {
          code: "workflow_changed",
          message: 'The workflow "Image Edit to Video" changed since this job started (step 2 was "edit" and is now "image_edit"), so it cannot resume where it stopped. Start a new run.',
        },
      });
      expect((await readJob(jobId)).status).toBe("pending_retry");
    });

    const dropped = "black-forest-labs/flux-1.1-pro";
    const droppedModelMessage = `The workflow "Text to Video" changed since this job started (step 1 ("image_generation") no longer offers ${dropped}, the model this job runs there), so it cannot resume where it stopped. Start a new run.`;
    /**
     * Parks a job of an older text-to-video whose first step also offered a model since dropped, a
     * model the job chose; the installed text-to-video's defaults are the same as the old one's.
     */
    async function parkOnDroppedModel(version: string) {
      const installed = rt.findWorkflow("text-to-video")!;
      const [imageGeneration, video] = installed.config.steps;
      const offered = { ...imageGeneration!, models: [...imageGeneration!.models!, { model: dropped, label: "FLUX 1.1 pro" }] };
      const down = async () => Promise.reject(new RetryableError("outage", "down"));
      const old: Workflow = { config: { ...installed.config, steps: [offered, video!] }, handlers: { image_generation: down, video_generation: ok }, version };
      const jobId = await rt.store.insertJob({
        userId,
        workflow: { id: old.config.id, version: old.version, config: old.config },
        inputs: { prompt: "A lighthouse" },
        maxAttempts: 5,
        models: { image_generation: dropped },
        firstEvent: { type: "progress", data: { step: 0, step_name: "image_generation", progress: 0, step_progress: 0, message: "Queued" } },
      });
      expect(await runJob({ ...rt.engine, findWorkflow: () => old }, jobId)).toMatchObject({ status: "pending_retry" });
      return { jobId, installed };
    }

    it("judges a job by the model it chose: a retry is refused when the step no longer offers it, though the step's default is unchanged", async () => {
      const { jobId } = await parkOnDroppedModel("old-chosen-model");
      const response = await routes.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
      expect(response.status).toBe(409);
      expect(await response.json()).toEqual({
        success: false,
        error: {
          code: "workflow_changed",
          message: droppedModelMessage,
        },
      });
      expect((await readJob(jobId)).status).toBe("pending_retry");
    });

    it("judges a job by the model it chose when the sweep resumes it: failed with workflow_changed, not run on the step's default", async () => {
      const { jobId, installed } = await parkOnDroppedModel("old-chosen-model-sweep");
      // A deploy dropped the model; the sweep claims the job and resumes it on the installed workflow.
      expect(await rt.store.claimRetry(jobId)).toBeDefined();
      expect(await runJob({ ...rt.engine, findWorkflow: (id) => (id === installed.config.id ? installed : undefined) }, jobId)).toEqual({ status: "failed", code: "workflow_changed", message: droppedModelMessage });
      expect(await readJob(jobId)).toMatchObject({ status: "failed", errorCode: "workflow_changed", error: droppedModelMessage });
    });
  });

  it("the in-process runner's run() resolves with the run's outcome, once per job however often it is asked", async () => {
    let calls = 0;
    const workflow = testWorkflow("run-once", { only: async () => ({ n: ++calls }) });
    const runner = new InProcessRunner({
      engine: { ...rt.engine, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) },
      checkHealth: async () => ({ healthy: true }),
      concurrency: 1,
      leaseMs: 30_000,
      sweepIntervalMs: 3_600_000,
      sweepBatch: 10,
      recheckSeconds: 1,
    });
    const [first, second] = await Promise.all([1, 2].map(() => insertTestJob(rt.store, workflow, userId)));
    const runs = [runner.run(first!), runner.run(first!), runner.run(second!)];
    expect(runs[1]).toBe(runs[0]);
    expect((await Promise.all(runs)).map((outcome) => outcome?.status)).toEqual(["completed", "completed", "completed"]);
    expect(calls).toBe(2);
    expect(await runner.run(first!)).toEqual({ status: "skipped", why: "job is completed" });

    // Waiting jobs of a stopped runner resolve undefined: they were not run here.
    const [third, fourth] = await Promise.all([1, 2].map(() => insertTestJob(rt.store, workflow, userId)));
    // Given whose jobs they are, they queue at once (no read first): the third starts before stop.
    const running = runner.run(third!, userId);
    const waiting = runner.run(fourth!, userId);
    await runner.stop();
    expect(await waiting).toBeUndefined();
    expect((await running)?.status).toBe("interrupted");
    expect(await runner.run(fourth!)).toBeUndefined();
  });

  it("the in-process runner's sweep adopts an execution whose runner died", async () => {
    const workflow = testWorkflow("orphaned", { only: async () => ({ ok: true }) });
    rt = await useTestEnvironment(database, {}, { registry: { workflows: new Map([[workflow.config.id, workflow]]), problems: [] } });
    const jobId = await insertTestJob(rt.store, workflow, userId);
    // A runner took it and vanished: its lease expired long ago.
    await rt.store.leaseRun(jobId, "gone-host:1:x", { ttlMs: -60_000 });
    await inProcessRunner(rt).tick();
    expect((await waitForJobStatus(jobId, ["completed"])).result).toEqual({ ok: true });
  });
});
