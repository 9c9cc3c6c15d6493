/**
 * Deadlines under Inngest (@inngest/test), on a real SQLite database with the real local providers
 * (the image edit held at a gate only the step's signal ends): a step's timeout parks the job as a
 * retryable timeout, a run's deadline fails it with deadline_exceeded (and Inngest does not retry
 * it), and the retry sweep fails a parked job past its deadline instead of resuming it.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkflowExecute, PREDICTION_WAIT_TIMEOUT, predictionWaitTimeout } from "@/lib/inngest/workflow-execute";
import { createWorkflowRetrySweep } from "@/lib/inngest/workflow-retry-sweep";
import type { Workflow } from "@/lib/workflows/definition";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, insertJob, localProviders, queuedEventOf, TEST_SETTINGS, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

/** The installed Image Edit to Video with its image edit limited to `seconds`. */
function withImageEditTimeout(seconds: number): Workflow {
  const workflow = env.rt.findWorkflow("img-edit-to-video")!;
  return { ...workflow, config: { ...workflow.config, steps: workflow.config.steps.map((step) => (step.name === "image_edit" ? { ...step, timeout_seconds: seconds } : step)) } };
}

async function execute(jobId: string, workflow?: Workflow) {
  const { client } = capturingClient(env);
  const providers = localProviders(env, "image_edit:gate");
  const fn = createWorkflowExecute(client, testDeps(env, providers, workflow ? { findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) } : {}));
  const engine = new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)] });
  return engine.execute();
}

describe("deadlines under Inngest", () => {
  it("a step past its timeout_seconds parks the job as a retryable timeout; the run ends without spending Inngest retries", async () => {
    const jobId = await insertJob(env, { workflow: withImageEditTimeout(1) });
    const { result, error } = await execute(jobId, withImageEditTimeout(1));
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "pending_retry", reason: "timeout" });
    const job = await readJob(jobId);
    expect(job).toMatchObject({ status: "pending_retry", errorCode: "timeout" });
    expect(job.layout["1"]).toMatchObject({ status: "failed_retryable", error_reason: "timeout" });
  });

  it("a run past its deadline fails with deadline_exceeded, and the Inngest run ends as non-retriable", async () => {
    const jobId = await insertJob(env);
    await env.rt.prisma.job.update({ where: { id: jobId }, data: { deadlineAt: new Date(Date.now() + 1500) } });
    const { error } = await execute(jobId);
    expect(error).toMatchObject({ name: "NonRetriableError", message: expect.stringMatching(/deadline_exceeded/) });
    const job = await readJob(jobId);
    expect(job).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    expect(job.layout["0"]?.status).toBe("completed");
    expect(job.layout["1"]).toMatchObject({ status: "failed", error_reason: "deadline_exceeded" });
    expect((await eventsOf(jobId, "error")).map((event) => event.data.code)).toEqual(["deadline_exceeded"]);
  });

  it("the retry sweep fails a parked job past its deadline and sends no event to resume it", async () => {
    const jobId = await insertJob(env, { status: "pending_retry", attempts: 1 });
    await env.rt.prisma.job.update({ where: { id: jobId }, data: { nextRetryAt: new Date(Date.now() - 1000), deadlineAt: new Date(Date.now() - 500) } });
    const { client, sent } = capturingClient(env);
    const fn = createWorkflowRetrySweep(client, testDeps(env, localProviders(env)));
    const { error } = await new InngestTestEngine({ function: fn, events: [{ name: "inngest/scheduled.timer", data: { cron: TEST_SETTINGS.retryCron } }] }).execute();
    expect(error).toBeUndefined();
    expect(await readJob(jobId)).toMatchObject({ status: "failed", errorCode: "deadline_exceeded" });
    expect(sent.flat().filter((event) => event.data.job_id === jobId)).toEqual([]);
  });

  it("a run waiting for a prediction's webhook wakes at its deadline at the latest", () => {
    const now = new Date("2026-12-03T10:00:00.000Z");
    expect(predictionWaitTimeout(null, now)).toBe(PREDICTION_WAIT_TIMEOUT);
    expect(predictionWaitTimeout(new Date(now.getTime() + 3_600_000), now)).toBe(PREDICTION_WAIT_TIMEOUT);
    const soon = new Date(now.getTime() + 90_000);
    expect(predictionWaitTimeout(soon, now)).toEqual(soon);
  });
});
