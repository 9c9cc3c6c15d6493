/**
 * Approval before a step under Inngest (@inngest/test), on a real SQLite database with the real
 * local providers: the run stops before the step and waits in step.waitForEvent; the approve route's
 * decision and event resume it in the same run, without spending an attempt; no answer in time fails
 * the job with approval_timeout. As in prediction-wait.test.ts, the wait's answer is supplied by a
 * mocked `step.waitForEvent` (@inngest/test 1.0 cannot satisfy one with inngest 4.24).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobApproved } from "@/lib/inngest/events";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { decideFromRequest } from "@/lib/jobs/approval";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, engineAnsweringWaits, insertJob, localProviders, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

/** An Image Edit to Video job that stops before video_generation. */
function awaitingVideoJob(): Promise<string> {
  return insertJob(env, { approvalSteps: [2] });
}

function runWithWait(jobId: string, answer: (waitId: string, options: unknown) => Promise<unknown>) {
  const { client } = capturingClient(env);
  return engineAnsweringWaits(env, createWorkflowExecute(client, testDeps(env, localProviders(env))), jobId, answer);
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
