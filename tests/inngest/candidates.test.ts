/**
 * Candidates under Inngest (@inngest/test), on a real SQLite database with the real local
 * providers: a step's candidates run as parallel steps (Promise.all of step.run, one id each),
 * the run then waits for the pick in step.waitForEvent, and the pick route's decision and event
 * resume it in the same run, carrying the picked output forward. As in approval.test.ts, the
 * wait's answer is supplied by a mocked `step.waitForEvent` (@inngest/test 1.0 cannot satisfy one
 * with inngest 4.24).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobPicked } from "@/lib/inngest/events";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { pickFromRequest } from "@/lib/jobs/pick";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, engineAnsweringWaits, insertJob, localProviders, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

/** An Image Edit to Video job whose image edit runs as three candidates. */
function candidatesJob(autoPick = false): Promise<string> {
  return insertJob(env, { candidates: { steps: { 1: 3 }, autoPick } });
}

function runWithWait(jobId: string, answer: (waitId: string, options: unknown) => Promise<unknown>) {
  const { client } = capturingClient(env);
  return engineAnsweringWaits(env, createWorkflowExecute(client, testDeps(env, localProviders(env))), jobId, answer);
}

const pickRequest = (body: unknown) => new Request("http://localhost:3999/workflows/pick/x", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

describe("candidates under Inngest", () => {
  it("runs the candidates as parallel steps, waits for the pick in step.waitForEvent, and resumes in the same run with the picked output", async () => {
    const jobId = await candidatesJob();
    let seenWhileWaiting: Awaited<ReturnType<typeof readJob>> | undefined;
    const { engine, waitForEvent, executed } = await runWithWait(jobId, async (waitId) => {
      seenWhileWaiting = await readJob(jobId);
      // What the pick route does: the pick in the database, then the event.
      await pickFromRequest(env.rt, pickRequest({ step: "image_edit", candidate: 2 }), env.userId, jobId);
      return { id: `evt-${waitId}`, name: jobPicked.name, data: { job_id: jobId, step: 1, candidate: 2 }, ts: Date.now() };
    });

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "completed", result: { video_url: expect.stringMatching(/\.mp4$/) } });
    expect(waitForEvent).toHaveBeenCalledTimes(1);
    const [waitId, options] = waitForEvent.mock.calls[0]!;
    expect(waitId).toBe("wait-pick-1");
    expect(options).toMatchObject({ event: jobPicked, if: `async.data.job_id == '${jobId}' && async.data.step == 1` });
    expect(seenWhileWaiting).toMatchObject({ status: "awaiting_input" });
    // Each candidate was a step of its own id (the image edit never ran as one step). @inngest/test
    // 1.0 follows each parallel branch on its own, so an id may execute more than once here; the
    // Inngest executor runs each id once. The outcome is the same either way: a row per candidate.
    expect(new Set(executed)).toEqual(new Set(["step-0-upload", "step-1-image-edit-candidate-1", "step-1-image-edit-candidate-2", "step-1-image-edit-candidate-3", "step-2-video-generation"]));
    const job = await readJob(jobId);
    expect(job).toMatchObject({ status: "completed", retryCount: 0 });
    const candidates = job.layout["1"]!.candidates!;
    expect(candidates.map((candidate) => candidate.status)).toEqual(["completed", "completed", "completed"]);
    expect(job.layout["1"]).toMatchObject({ output: candidates[1]!.output, picked_candidate: 2 });
    const events = await eventsOf(jobId);
    const waitAt = events.findIndex((event) => event.type === "awaiting");
    expect(events.findIndex((event) => event.type === "progress" && event.data.step === 2)).toBeGreaterThan(waitAt);
  });

  it("with auto_pick never waits: the first candidate that succeeded feeds the video step", async () => {
    const jobId = await candidatesJob(true);
    const { engine, waitForEvent } = await runWithWait(jobId, async () => null);
    const { result, error } = await engine.execute();
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "completed" });
    expect(waitForEvent).not.toHaveBeenCalled();
    expect((await readJob(jobId)).layout["1"]).toMatchObject({ status: "completed", picked_candidate: 1 });
  });

  it("a wait that ends while the job still awaits its pick waits again; a canceled job ends the run", async () => {
    const jobId = await candidatesJob();
    let calls = 0;
    const { engine, waitForEvent } = await runWithWait(jobId, async () => {
      calls += 1;
      if (calls === 2) await env.rt.store.cancelJob(jobId, { from: "awaiting_input", message: "Canceled by user", event: { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } } });
      return null;
    });
    const { result, error } = await engine.execute();
    expect(error).toBeUndefined();
    expect(result).toMatchObject({ status: "skipped" });
    expect(waitForEvent.mock.calls.map(([id]) => id)).toEqual(["wait-pick-1", "wait-pick-1-resumed-1"]);
    expect(await readJob(jobId)).toMatchObject({ status: "canceled" });
  });
});
