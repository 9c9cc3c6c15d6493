import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sweepDueJobs } from "@/lib/engine/sweep";
import { cancelJob } from "@/lib/jobs/service";
import type { EngineDeps } from "@/lib/engine/types";
import { silentLogger } from "@/lib/log";
import type { Runtime } from "@/lib/server/runtime";
import type { StepConfig, Workflow } from "@/lib/workflows/definition";
import { RetryableError } from "@/lib/workflows/errors";
import type { StepContext } from "@/lib/workflows/step-context";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { createUserWithToken, eventsOf, executeRequest, jpegBlob, waitForJobStatus } from "../helpers/api";
import { insertTestJob, runJob, testWorkflow } from "../helpers/engine";

/**
 * Deadlines on real databases with the local providers: a step's `timeout_seconds` stops its model
 * call through the step's signal (the local models are held at a gate that only the signal can
 * end) and the step ends as its `on_timeout` says; a run's `deadline_seconds` fails it with
 * deadline_exceeded, whether it runs, waits to run, or would retry after it; the sweep fails
 * waiting jobs past their deadline instead of resuming them.
 */
describe.each<Provider>(["sqlite", "postgresql"])("deadlines on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let userId: string;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // Every image edit is held until its gate file appears, which this test never creates.
    rt = await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "image_edit:gate", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    ({ userId, token } = await createUserWithToken(`deadlines-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  /** A step that runs the local image model (held at its gate): only its signal ends the call. */
  const heldModelCall = (seen: { reason?: unknown }) => async (ctx: StepContext) => {
    try {
      await ctx.providers.models.run({
        model: "google/nano-banana",
        input: { prompt: "a cat", image_input: ["http://127.0.0.1:9/none.png"] },
        jobId: ctx.jobId,
        stepIndex: ctx.stepIndex,
        signal: ctx.signal,
        onProgress: (percent, message) => ctx.progress(percent, message),
        state: ctx.state,
      });
    } catch (error) {
      seen.reason = error;
      throw error;
    }
    return { done: true };
  };

  function workflowWithStep(id: string, step: Partial<StepConfig>, seen: { reason?: unknown }): Workflow {
    const workflow = testWorkflow(id, { first: async () => ({ ok: true }), held: heldModelCall(seen) });
    workflow.config.steps[1] = { ...workflow.config.steps[1]!, ...step };
    return workflow;
  }

  const engineWith = (workflow: Workflow): EngineDeps => ({ ...rt.engine, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) });

  it("a step past its timeout_seconds has its model call aborted and parks as a retryable timeout (on_timeout: retry, the default)", async () => {
    const seen: { reason?: unknown } = {};
    const workflow = workflowWithStep("timeout-retry", { timeout_seconds: 1 }, seen);
    const jobId = await insertTestJob(rt.store, workflow, userId);
    const outcome = await runJob(engineWith(workflow), jobId);
    expect(outcome).toMatchObject({ status: "pending_retry", reason: "timeout" });
    // The local model saw the abort, with the step's clock as the reason.
    expect(seen.reason).toMatchObject({ name: "DeadlineError", scope: "step" });
    const job = await waitForJobStatus(jobId, ["pending_retry"]);
    expect(job.errorCode).toBe("timeout");
    expect(job.layout["0"]?.status).toBe("completed");
    expect(job.layout["1"]).toMatchObject({ status: "failed_retryable", error_class: "retryable", error_reason: "timeout", error: expect.stringMatching(/1 s timeout/) });
  });

  it("on_timeout: fail ends the job with a hard timeout", async () => {
    const seen: { reason?: unknown } = {};
    const workflow = workflowWithStep("timeout-fail", { timeout_seconds: 1, on_timeout: "fail" }, seen);
    const jobId = await insertTestJob(rt.store, workflow, userId);
    expect(await runJob(engineWith(workflow), jobId)).toMatchObject({ status: "failed", code: "timeout" });
    const job = await waitForJobStatus(jobId, ["failed"]);
    expect(job.layout["1"]).toMatchObject({ status: "failed", error_class: "hard", error_reason: "timeout" });
    expect((await eventsOf(jobId, "error")).map((event) => event.data.code)).toEqual(["timeout"]);
  });

  it("a run past its deadline while a step runs fails with deadline_exceeded, whatever the step's on_timeout", async () => {
    const seen: { reason?: unknown } = {};
    // The step's own timeout is longer than the run's deadline: the deadline is what stops it.
    const workflow = workflowWithStep("run-deadline", { timeout_seconds: 600 }, seen);
    const jobId = await rt.store.insertJob({
      userId,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 5,
      firstEvent: { type: "progress", data: { step: 0, step_name: "first", progress: 0, step_progress: 0, message: "Queued" } },
      deadlineAt: new Date(Date.now() + 1500),
    });
    expect(await runJob(engineWith(workflow), jobId)).toMatchObject({ status: "failed", code: "deadline_exceeded" });
    expect(seen.reason).toMatchObject({ name: "DeadlineError", scope: "run" });
    const job = await waitForJobStatus(jobId, ["failed"]);
    expect(job).toMatchObject({ errorCode: "deadline_exceeded", nextRetryAt: null });
    expect(job.layout["1"]).toMatchObject({ status: "failed", error_reason: "deadline_exceeded" });
  });

  it("a run that starts past its deadline fails before any step runs", async () => {
    let ran = false;
    const workflow = testWorkflow("late-start", {
      only: async () => {
        ran = true;
        return {};
      },
    });
    const jobId = await rt.store.insertJob({
      userId,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 5,
      firstEvent: { type: "progress", data: { step: 0, step_name: "only", progress: 0, step_progress: 0, message: "Queued" } },
      deadlineAt: new Date(Date.now() - 1000),
    });
    expect(await runJob(engineWith(workflow), jobId)).toMatchObject({ status: "failed", code: "deadline_exceeded" });
    expect(ran).toBe(false);
    expect((await rt.store.getJob(jobId))!.checkpoints).toEqual([]);
  });

  it("a retryable failure whose retry would come after the deadline fails the job instead of parking it", async () => {
    const workflow = testWorkflow("retry-after-deadline", {
      only: async () => {
        throw new RetryableError("quota", "Out of credit", { retryAfterSeconds: 3600 });
      },
    });
    const jobId = await rt.store.insertJob({
      userId,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 5,
      firstEvent: { type: "progress", data: { step: 0, step_name: "only", progress: 0, step_progress: 0, message: "Queued" } },
      deadlineAt: new Date(Date.now() + 60_000),
    });
    expect(await runJob(engineWith(workflow), jobId)).toMatchObject({ status: "failed", code: "deadline_exceeded" });
    expect(await rt.store.getJob(jobId)).toMatchObject({ status: "failed", errorCode: "deadline_exceeded", nextRetryAt: null });
    expect(await eventsOf(jobId, "retry_scheduled")).toEqual([]);
  });

  it("the sweep fails a parked job once its deadline has passed, and never resumes it", async () => {
    const workflow = testWorkflow("parked-past-deadline", {
      only: async () => {
        throw new RetryableError("outage", "Down", { retryAfterSeconds: 1 });
      },
    }, { retry: { backoff_seconds: 1 } });
    const deadlineAt = new Date(Date.now() + 3_600_000);
    const jobId = await rt.store.insertJob({
      userId,
      workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
      inputs: {},
      maxAttempts: 5,
      firstEvent: { type: "progress", data: { step: 0, step_name: "only", progress: 0, step_progress: 0, message: "Queued" } },
      deadlineAt,
    });
    expect(await runJob(engineWith(workflow), jobId)).toMatchObject({ status: "pending_retry" });
    // The sweep runs after the deadline: the job is due, and past its deadline.
    const swept = await sweepDueJobs({ store: rt.store, batchSize: 100, checkHealth: async () => ({ healthy: true }), recheckSeconds: 60, logger: silentLogger, now: new Date(deadlineAt.getTime() + 1000) });
    expect(swept.expired).toContain(jobId);
    expect(swept.resumed.map((job) => job.id)).not.toContain(jobId);
    expect(await rt.store.getJob(jobId)).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    expect((await eventsOf(jobId, "error")).map((event) => event.data.code)).toEqual(["deadline_exceeded"]);
  });

  it("POST /workflows/execute takes deadline_seconds: the image edit held at its gate is stopped, the job fails with deadline_exceeded", async () => {
    const { POST } = await import("@/app/workflows/execute/route");
    const response = await POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), deadline_seconds: "2" }));
    expect(response.status).toBe(202);
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const stored = await rt.store.getJob(jobId);
    expect(stored!.deadlineAt!.getTime()).toBeGreaterThan(stored!.createdAt.getTime());
    const job = await waitForJobStatus(jobId, ["failed", "completed"]);
    expect(job).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    expect(job.layout["1"]).toMatchObject({ status: "failed", error_reason: "deadline_exceeded" });

    const { GET } = await import("@/app/workflows/execution/[jobId]/route");
    const details = (await (await GET(new Request(`http://localhost/workflows/execution/${jobId}`, { headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ jobId }) })).json()) as {
      job: { deadline_at: string | null };
    };
    expect(details.job.deadline_at).toBe(stored!.deadlineAt!.toISOString());
  });

  it("a manual retry gives the job a fresh deadline as long as its first; a rerun takes deadline_seconds in JSON (400 when invalid)", async () => {
    const execute = await import("@/app/workflows/execute/route");
    const response = await execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), deadline_seconds: "1" }));
    const jobId = ((await response.json()) as { job_id: string }).job_id;
    const failed = await waitForJobStatus(jobId, ["failed"]);
    expect(failed.errorCode).toBe("deadline_exceeded");

    const retry = await import("@/app/workflows/retry/[jobId]/route");
    const retried = await retry.POST(new Request(`http://localhost/workflows/retry/${jobId}`, { method: "POST", headers: { authorization: `Bearer ${token}` } }), { params: Promise.resolve({ jobId }) });
    expect(retried.status).toBe(200);
    const renewed = (await rt.store.getJob(jobId))!.deadlineAt!;
    expect(renewed.getTime()).toBeGreaterThan(failed.deadlineAt!.getTime());
    expect(renewed.getTime() - failed.deadlineAt!.getTime()).toBeLessThan(60_000);
    await waitForJobStatus(jobId, ["failed"]);

    const rerun = await import("@/app/workflows/rerun/[jobId]/route");
    const rerunRequest = (body: unknown) =>
      rerun.POST(new Request(`http://localhost/workflows/rerun/${jobId}`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify(body) }), {
        params: Promise.resolve({ jobId }),
      });
    const refused = await rerunRequest({ from_step: 1, deadline_seconds: 0 });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ success: false, error: { code: "invalid_request", message: expect.stringMatching(/deadline_seconds/) } });
    const accepted = await rerunRequest({ from_step: 1, deadline_seconds: 3600 });
    expect(accepted.status).toBe(202);
    const rerunId = ((await accepted.json()) as { job_id: string }).job_id;
    const child = (await rt.store.getJob(rerunId))!;
    expect(child.deadlineAt!.getTime() - child.createdAt.getTime()).toBeGreaterThan(3_500_000);
    await cancelJob(rt, userId, rerunId);
  });

  it.each([["0"], ["-5"], ["1.5"], ["soon"], ["604801"]])("refuses deadline_seconds=%s with 400 invalid_form, storing nothing", async (value) => {
    const { POST } = await import("@/app/workflows/execute/route");
    const before = (await rt.store.listJobs(userId, { limit: 100 })).jobs.length;
    const response = await POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), deadline_seconds: value }));
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ success: false, error: { code: "invalid_form", message: expect.stringMatching(/deadline_seconds/) } });
    expect((await rt.store.listJobs(userId, { limit: 100 })).jobs.length).toBe(before);
  });
});
