/**
 * Approval before a step under Inngest (@inngest/test), on a real SQLite database with the real
 * local providers: the run stops before the step and waits in step.waitForEvent; the approve route's
 * decision and event resume it in the same run, without spending an attempt; no answer in time fails
 * the job with approval_timeout. As in prediction-wait.test.ts, the wait's answer is supplied by a
 * mocked `step.waitForEvent` (@inngest/test 1.0 cannot satisfy one with inngest 4.24).
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { InngestTestEngine } from "@inngest/test";
import type { Context } from "inngest";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { jobApproved } from "@/lib/inngest/events";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { decideFromRequest } from "@/lib/jobs/approval";
import { queuedEvent } from "@/lib/jobs/service";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, localProviders, queuedEventOf, recordExecutedSteps, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

/** An Image Edit to Video job that stops before video_generation. */
async function awaitingVideoJob(): Promise<string> {
  const workflow = env.rt.findWorkflow("img-edit-to-video")!;
  const data = await readFile(path.resolve(import.meta.dirname, "..", "fixtures", "photo.png"));
  return env.rt.store.insertJob({
    userId: env.userId,
    workflow: { id: workflow.config.id, version: workflow.version, config: workflow.config },
    inputs: { edit_prompt: "Make it warm", video_prompt: "Slow push-in" },
    maxAttempts: 5,
    firstEvent: queuedEvent(workflow),
    upload: { filename: "photo.png", contentType: "image/png", data, width: 320, height: 240 },
    approvalSteps: [2],
  });
}

async function runWithWait(jobId: string, answer: (waitId: string, options: unknown) => Promise<unknown>) {
  const { client } = capturingClient(env);
  const fn = createWorkflowExecute(client, testDeps(env, localProviders(env)));
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

const approveRequest = (body: unknown) => new Request("http://localhost:3999/workflows/approve/x", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

describe("approval under Inngest", () => {
  it("waits in step.waitForEvent with the job awaiting_approval, and resumes in the same run once approved", async () => {
    const jobId = await awaitingVideoJob();
    let seenWhileWaiting: Awaited<ReturnType<typeof readJob>> | undefined;
    const { engine, waitForEvent, executed } = await runWithWait(jobId, async (waitId) => {
      seenWhileWaiting = await readJob(jobId);
      // What the approve route does: the decision in the database, then the event.
      await decideFromRequest(env.rt, approveRequest({ approve: true, comment: "Go" }), env.userId, jobId);
      return { id: `evt-${waitId}`, name: jobApproved.name, data: { job_id: jobId, step: 2 }, ts: Date.now() };
    });

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "completed", result: { video_url: expect.stringMatching(/\.mp4$/) } });
    expect(waitForEvent).toHaveBeenCalledTimes(1);
    const [waitId, options] = waitForEvent.mock.calls[0]!;
    expect(waitId).toBe("wait-approval-2");
    expect(options).toMatchObject({ event: jobApproved, if: `async.data.job_id == '${jobId}' && async.data.step == 2`, timeout: expect.any(Date) });
    expect(seenWhileWaiting).toMatchObject({ status: "awaiting_approval", awaitingUntil: expect.any(Date) });
    expect(seenWhileWaiting!.layout["2"]).toBeUndefined();
    expect(executed).toEqual(["step-0-upload", "step-1-image-edit", "step-2-video-generation"]);
    const job = await readJob(jobId);
    expect(job).toMatchObject({ status: "completed", retryCount: 0 });
    // The wait comes after the image edit's checkpoint and before the video step starts.
    const events = await eventsOf(jobId);
    const waitAt = events.findIndex((event) => event.type === "awaiting");
    expect(events.findIndex((event) => event.type === "checkpoint" && event.data.step === 1)).toBeLessThan(waitAt);
    expect(events.findIndex((event) => event.type === "progress" && event.data.step === 2)).toBeGreaterThan(waitAt);
    expect((await eventsOf(jobId, "awaiting"))[0]!.data).toMatchObject({ status: "awaiting_approval", awaiting: "approval", step: 2, step_name: "video_generation", output: job.layout["1"]!.output });
  });

  it("fails the job with approval_timeout when the wait times out, and runs nothing more", async () => {
    const jobId = await awaitingVideoJob();
    const { engine, executed } = await runWithWait(jobId, async () => null);

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "skipped" });
    expect(executed).toEqual(["step-0-upload", "step-1-image-edit"]);
    expect(await readJob(jobId)).toMatchObject({ status: "failed", errorCode: "approval_timeout", retryCount: 0 });
  });
});
