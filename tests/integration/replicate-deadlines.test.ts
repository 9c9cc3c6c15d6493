/**
 * Deadlines on Replicate: the real `replicate` SDK against the local fake, through the real engine
 * (createJob and the in-process runner) on SQLite and PostgreSQL. A prediction is created with
 * `Cancel-After`, and when the step's timeout or the run's deadline passes first, Montage cancels
 * it with POST /predictions/<id>/cancel: the fake's request log shows the cancel.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createJob } from "@/lib/jobs/service";
import { runtime } from "@/lib/server/runtime";
import type { Workflow } from "@/lib/workflows/definition";
import { buildRegistry } from "@/lib/workflows/registry";
import { discoveredWorkflows, discoveryProblems } from "@/lib/workflows/registry.generated";
import { parseCancelAfter } from "@/tests/fakes/replicate-fake";
import { createUser, IMAGE_MODEL, predictionIdOf, startProductionStack, waitForJob, type ProductionStack } from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

let stack: ProductionStack;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await stack.stop();
});

beforeEach(() => {
  stack.replicate.clearFailures();
  // Predictions never finish by themselves here: only a deadline or a cancel ends them.
  stack.replicate.completeAfter = { polls: Number.MAX_SAFE_INTEGER };
});

/** Image Edit to Video with its image edit limited to `timeoutSeconds` (as a config.json would say). */
function withImageEditTimeout(timeoutSeconds: number, onTimeout: "retry" | "fail") {
  const base = buildRegistry(discoveredWorkflows, discoveryProblems);
  const workflow = base.workflows.get("img-edit-to-video")!;
  const timed: Workflow = {
    ...workflow,
    config: { ...workflow.config, steps: workflow.config.steps.map((step) => (step.name === "image_edit" ? { ...step, timeout_seconds: timeoutSeconds, on_timeout: onTimeout } : step)) },
  };
  return { ...base, workflows: new Map([[timed.config.id, timed]]) };
}

async function start(userId: string, deadlineSeconds?: number): Promise<string> {
  const rt = runtime();
  const { jobId } = await createJob(rt, {
    userId,
    workflow: rt.findWorkflow("img-edit-to-video")!,
    inputs: { edit_prompt: "Make it golden hour", video_prompt: "Slow push-in" },
    upload: { filename: "photo.png", contentType: "image/png", data: stack.photo, width: 320, height: 240 },
    ...(deadlineSeconds !== undefined && { deadlineSeconds }),
  });
  return jobId;
}

const cancelRequests = (id: string) => stack.replicate.requests.filter((request) => request.method === "POST" && request.path === `/v1/predictions/${id}/cancel`);

describe.each<Provider>(["sqlite", "postgresql"])("deadlines on Replicate (%s)", (provider) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  it("a run past its deadline cancels its running prediction (created with Cancel-After) and fails with deadline_exceeded", async () => {
    await useTestEnvironment(database, stack.env());
    const userId = await createUser();
    const jobId = await start(userId, 3);
    const job = await waitForJob(jobId, (row) => row.status !== "queued" && row.status !== "running");
    expect(job).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    const predictionId = predictionIdOf(job, 1)!;
    expect(stack.replicate.predictions.get(predictionId)?.json).toMatchObject({ model: IMAGE_MODEL, status: "canceled" });
    expect(cancelRequests(predictionId).length).toBeGreaterThanOrEqual(1);
    // Cancel-After: the run's remaining time and a margin, in Replicate's duration format, never under its minimum.
    const cancelAfter = stack.replicate.cancelAfterOf(predictionId)!;
    expect(cancelAfter).toBeGreaterThanOrEqual(5);
    expect(cancelAfter).toBeLessThanOrEqual(3 + 2);
    // Montage's own cancel came first: the fake's deadline never had to end it.
    expect(stack.replicate.deadlineEnds.map((end) => end.id)).not.toContain(predictionId);
  });

  it("a step past its timeout_seconds cancels its prediction and parks as a retryable timeout", async () => {
    await useTestEnvironment(database, stack.env(), { registry: withImageEditTimeout(2, "retry") });
    const userId = await createUser();
    const jobId = await start(userId);
    const job = await waitForJob(jobId, "pending_retry");
    expect(job.errorCode).toBe("timeout");
    expect(job.layout["1"]).toMatchObject({ status: "failed_retryable", error_reason: "timeout" });
    const predictionId = predictionIdOf(job, 1)!;
    expect(cancelRequests(predictionId)).toHaveLength(1);
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("canceled");
    expect(stack.replicate.cancelAfterOf(predictionId)).toBe(5);
  });

  it("on_timeout: fail cancels the prediction and fails the job with timeout", async () => {
    await useTestEnvironment(database, stack.env(), { registry: withImageEditTimeout(2, "fail") });
    const userId = await createUser();
    const jobId = await start(userId);
    const job = await waitForJob(jobId, "failed");
    expect(job.errorCode).toBe("timeout");
    expect(cancelRequests(predictionIdOf(job, 1)!)).toHaveLength(1);
  });

  it("a failure whose retry would come after the deadline fails the job and cancels the prediction it left running", async () => {
    await useTestEnvironment(database, stack.env());
    const userId = await createUser();
    // Every GET of the prediction fails as an outage (the SDK gives up after its own retries): the
    // step fails retryably while the prediction still runs on Replicate.
    stack.replicate.fail({ route: "get", status: 502 });
    const jobId = await start(userId, 60);
    const job = await waitForJob(jobId, (row) => row.status !== "queued" && row.status !== "running");
    expect(job).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    const predictionId = predictionIdOf(job, 1)!;
    expect(cancelRequests(predictionId)).toHaveLength(1);
    expect(stack.replicate.predictions.get(predictionId)?.json.status).toBe("canceled");
  });
});

describe("the fake's Cancel-After, as Replicate documents it", () => {
  it("parses durations and ends a prediction aborted before it starts, canceled while it runs", async () => {
    expect([parseCancelAfter("30"), parseCancelAfter("30s"), parseCancelAfter("5m"), parseCancelAfter("1h30m"), parseCancelAfter("soon")]).toEqual([30, 30, 300, 5400, undefined]);
    const { replicate } = stack;
    const create = (cancelAfter: string) =>
      fetch(`${replicate.baseUrl}/models/${IMAGE_MODEL}/predictions`, {
        method: "POST",
        headers: { authorization: `Bearer ${replicate.token}`, "content-type": "application/json", "cancel-after": cancelAfter },
        body: JSON.stringify({ input: { prompt: "a cat", image_input: ["https://example.com/a.png"] } }),
      });
    expect((await create("2s")).status).toBe(422);
    expect((await create("later")).status).toBe(422);
    const starting = (await (await create("5s")).json()) as { id: string };
    const running = (await (await create("5s")).json()) as { id: string };
    // One GET moves a prediction to processing.
    await fetch(`${replicate.baseUrl}/predictions/${running.id}`, { headers: { authorization: `Bearer ${replicate.token}` } });
    const ends = () => replicate.deadlineEnds.filter((end) => end.id === starting.id || end.id === running.id);
    while (ends().length < 2) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ends().sort((a, b) => (a.id === starting.id ? -1 : b.id === starting.id ? 1 : 0))).toEqual([
      { id: starting.id, status: "aborted" },
      { id: running.id, status: "canceled" },
    ]);
  });
});
