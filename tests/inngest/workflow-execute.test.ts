/**
 * workflow-execute under @inngest/test, on a real SQLite database with the real local providers:
 * each outcome of the engine and how it ends the Inngest run.
 */
import { InngestTestEngine } from "@inngest/test";
import type { Context } from "inngest";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepDueJobs } from "@/lib/engine/sweep";
import { jobQueuedEvent } from "@/lib/inngest/events";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { silentLogger } from "@/lib/log";
import type { Providers } from "@/lib/providers/types";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, insertJob, localProviders, queuedEventOf, recordExecutedSteps, testDeps, type TestEnv } from "./support";

const STEP_IDS = ["step-0-upload", "step-1-image-edit", "step-2-video-generation"];

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

type QueuedEvent = ReturnType<typeof jobQueuedEvent>;

/**
 * A test engine for a run of workflow-execute with its own providers. A new run is triggered by
 * the job's current queued event; pass `event` to continue an earlier run (same event).
 */
async function runFor(jobId: string, providers: Providers, options: { event?: QueuedEvent; extra?: (ctx: Context.Any) => Context.Any } = {}) {
  const { client } = capturingClient(env);
  const fn = createWorkflowExecute(client, testDeps(env, providers));
  const event = options.event ?? (await queuedEventOf(env, jobId));
  const recorder = recordExecutedSteps(options.extra);
  const engine = new InngestTestEngine({ function: fn, events: [event], transformCtx: recorder.transformCtx });
  return { engine, event, executed: recorder.executed };
}

async function jobState(jobId: string) {
  const job = await readJob(jobId);
  return { job, checkpoints: job.layout };
}

describe("workflow-execute", () => {
  it("runs a job to completion, one step.run per workflow step, with the in-process checkpoints and events", async () => {
    const jobId = await insertJob(env);
    const { engine, executed } = await runFor(jobId, localProviders(env));

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "completed", result: { video_url: expect.stringMatching(/\.mp4$/) } });
    expect(executed).toEqual(STEP_IDS);
    const { job, checkpoints } = await jobState(jobId);
    expect(job).toMatchObject({ status: "completed", progress: 100, attempts: 1 });
    expect(Object.values(checkpoints).map((c) => c.status)).toEqual(["completed", "completed", "completed"]);
    const events = await eventsOf(jobId);
    expect(events.filter((e) => e.type === "checkpoint").map((e) => e.data.step)).toEqual([0, 1, 2]);
    expect(events.at(-1)).toMatchObject({ type: "complete", data: { result: { video_url: expect.any(String) } } });
    // Step outputs (memoized by Inngest) are URLs, never media bytes.
    expect(JSON.stringify(result).length).toBeLessThan(500);
  });

  it("resumes mid-run without re-running steps that already ran (memoized and checkpointed)", async () => {
    const jobId = await insertJob(env);
    const providers = localProviders(env);
    const first = await runFor(jobId, providers);
    // An earlier invocation of this run executed the first step...
    const { result: uploadOutcome } = await first.engine.executeStep("step-0-upload");
    expect(uploadOutcome).toMatchObject({ status: "completed", output: { image_url: expect.any(String) } });
    const afterFirst = await jobState(jobId);

    // ...and the next invocation gets its memoized output from Inngest.
    let memoizedHandlerCalls = 0;
    const second = await runFor(jobId, providers, { event: first.event });
    const { result } = await second.engine.execute({
      steps: [{ id: "step-0-upload", handler: () => (memoizedHandlerCalls++, uploadOutcome) }],
    });

    expect(result).toMatchObject({ status: "completed" });
    expect(second.executed).toEqual(["step-1-image-edit", "step-2-video-generation"]);
    expect(memoizedHandlerCalls).toBe(0);
    const { job, checkpoints } = await jobState(jobId);
    expect(job.attempts).toBe(1);
    expect(checkpoints["0"]).toEqual(afterFirst.checkpoints["0"]);
    const events = await eventsOf(jobId);
    const uploadStarts = events.filter((e) => e.type === "progress" && e.data.step === 0 && e.data.step_progress === 0 && e.data.message !== "Queued");
    expect(uploadStarts).toHaveLength(1);
    expect(events.filter((e) => e.type === "checkpoint" && e.data.step === 0)).toHaveLength(1);
  });

  it("ends the run with NonRetriableError after recording a hard failure", async () => {
    const jobId = await insertJob(env);
    const { engine } = await runFor(jobId, localProviders(env, "image_edit:hard:1"));

    const { result, error } = await engine.execute();

    expect(result).toBeUndefined();
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringContaining("content_rejected") });
    const { job, checkpoints } = await jobState(jobId);
    expect(job).toMatchObject({ status: "failed", errorCode: "content_rejected" });
    expect(checkpoints["1"]).toMatchObject({ status: "failed", error_class: "hard" });
    expect((await eventsOf(jobId)).at(-1)).toMatchObject({ type: "error", data: { status: "failed", code: "content_rejected" } });
  });

  it("parks a retryable failure without throwing, and the resume is a new run that skips completed steps", async () => {
    const jobId = await insertJob(env);
    const providers = localProviders(env, "video:quota:1");
    const parkedRun = await runFor(jobId, providers);

    const parked = await parkedRun.engine.execute();

    expect(parked.error).toBeUndefined();
    expect(parked.result).toMatchObject({ status: "pending_retry", reason: "quota", next_retry_at: expect.any(String) });
    const afterPark = await jobState(jobId);
    expect(afterPark.job).toMatchObject({ status: "pending_retry", errorCode: "quota", attempts: 1 });
    expect(afterPark.checkpoints["2"]).toMatchObject({ status: "failed_retryable", error_reason: "quota" });
    expect((await eventsOf(jobId)).at(-1)).toMatchObject({ type: "retry_scheduled", data: { reason: "quota", retry_count: 1 } });

    // The retry sweep claims the due job; its new event (attempt 1) starts a new run.
    const swept = await sweepDueJobs({
      store: env.rt.store,
      batchSize: 10,
      checkHealth: async () => ({ healthy: true }),
      recheckSeconds: 60,
      logger: silentLogger,
      now: new Date(Date.now() + 24 * 3600_000),
    });
    expect(swept.resumed).toEqual([{ id: jobId, userId: env.userId, attempts: 1 }]);
    const resumedRun = await runFor(jobId, providers);

    const resumed = await resumedRun.engine.execute();

    expect(resumed.result).toMatchObject({ status: "completed" });
    expect(resumedRun.executed).toEqual(["step-2-video-generation"]);
    const { job } = await jobState(jobId);
    expect(job).toMatchObject({ status: "completed", attempts: 2 });
  });

  it("retries a short rate limit with RetryAfterError inside the step, without parking the job", async () => {
    const jobId = await insertJob(env);
    const providers = localProviders(env, "image_edit:rate_limit:1");
    const limitedRun = await runFor(jobId, providers);

    const limited = await limitedRun.engine.execute();

    // @inngest/test does not model retries: the step's error ends this execution.
    expect(limited.error).toMatchObject({ name: "RetryAfterError", message: expect.stringContaining("retries this step in 1s") });
    const during = await jobState(jobId);
    expect(during.job).toMatchObject({ status: "running", error: null });
    expect(during.checkpoints["1"]).toMatchObject({ status: "running" });
    expect(during.job.execution.retryCount).toBe(0);
    expect((await eventsOf(jobId)).some((e) => e.type === "retry_scheduled")).toBe(false);

    // Inngest's retry of the step: the same event, the first step memoized.
    const retry = await runFor(jobId, providers, { event: limitedRun.event });
    const done = await retry.engine.execute();

    expect(done.result).toMatchObject({ status: "completed" });
    expect(retry.executed).toEqual(["step-1-image-edit", "step-2-video-generation"]);
    expect((await jobState(jobId)).job.attempts).toBe(1);
  });

  it("parks a rate limit on Inngest's last attempt instead of throwing", async () => {
    const jobId = await insertJob(env);
    const lastAttempt = (ctx: Context.Any) => ({ ...ctx, attempt: 4, maxAttempts: 5 }) as Context.Any;
    const { engine } = await runFor(jobId, localProviders(env, "image_edit:rate_limit:1"), { extra: lastAttempt });

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "pending_retry", reason: "rate_limit" });
    expect((await jobState(jobId)).job.status).toBe("pending_retry");
  });

  it("skips a stale event whose attempt is no longer the job's current one", async () => {
    // A run whose cancel event was lost, while the user's retry already started attempt 2.
    const jobId = await insertJob(env, { status: "running", attempts: 2 });
    const { client } = capturingClient(env);
    const fn = createWorkflowExecute(client, testDeps(env, localProviders(env)));
    const stale = jobQueuedEvent({ id: jobId, userId: env.userId, attempts: 0 });
    const recorder = recordExecutedSteps();
    const engine = new InngestTestEngine({ function: fn, events: [stale], transformCtx: recorder.transformCtx });

    const { result } = await engine.execute();

    expect(result).toEqual({ status: "skipped", why: "attempt 0 is not the job's current attempt" });
    expect(recorder.executed).toEqual([]);
    expect((await jobState(jobId)).job).toMatchObject({ status: "running", attempts: 2 });
  });

  it("stops a running step when its job is canceled", async () => {
    const jobId = await insertJob(env);
    // The video step waits at a gate nobody opens: the run ends only if the cancel stops the step.
    const { engine } = await runFor(jobId, localProviders(env, "video:gate"));
    // What cancelJob does: the database first, then the driver's cancel event (cancelOn, between steps).
    const cancel = (async () => {
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        const { checkpoints } = await jobState(jobId);
        if (checkpoints["2"]?.status === "running") break;
      }
      const canceled = await env.rt.store.cancelJob(jobId, {
        from: "running",
        message: "Canceled by user",
        event: { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } },
      });
      expect(canceled).toBe(true);
    })();

    const { result } = await engine.execute();
    await cancel;

    // Had the cancel not reached the running step, the slow video would have completed the job.
    expect(result).toEqual({ status: "canceled" });
    const { job, checkpoints } = await jobState(jobId);
    expect(job.status).toBe("canceled");
    expect(checkpoints["2"]).toMatchObject({ status: "canceled" });
  });
});
