/**
 * A rerun under Inngest (@inngest/test), on a real SQLite database with the real local providers:
 * the rerun's run executes only the steps from `from_step`; the copied ones are never a step.run.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { rerunFromRequest } from "@/lib/jobs/rerun";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, insertJob, localProviders, queuedEventOf, recordExecutedSteps, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

async function runToEnd(jobId: string) {
  const { client } = capturingClient(env);
  const fn = createWorkflowExecute(client, testDeps(env, localProviders(env)));
  const recorder = recordExecutedSteps();
  const engine = new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)], transformCtx: recorder.transformCtx });
  const { result, error } = await engine.execute();
  return { result, error, executed: recorder.executed };
}

function rerunRequest(body: unknown): Request {
  return new Request("http://localhost:3999/workflows/rerun/x", { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}

describe("rerun under Inngest", () => {
  it("runs only the steps from from_step, with the new inputs, on the parent's earlier outputs", async () => {
    const parentId = await insertJob(env);
    const parentRun = await runToEnd(parentId);
    expect(parentRun.error).toBeUndefined();
    const parent = await readJob(parentId);
    expect(parent.status).toBe("completed");

    const { jobId } = await rerunFromRequest(env.rt, rerunRequest({ from_step: "video_generation", inputs: { video_prompt: "Orbit slowly" } }), env.userId, parentId);
    const rerunRun = await runToEnd(jobId);

    expect(rerunRun.error).toBeUndefined();
    expect(rerunRun.executed).toEqual(["step-2-video-generation"]);
    expect(rerunRun.result).toMatchObject({ status: "completed", result: { video_url: expect.stringContaining(`/jobs/${jobId}/2-video_generation.mp4`) } });
    const rerun = await readJob(jobId);
    expect(rerun).toMatchObject({ status: "completed", parentJobId: parentId, rerunFromStep: 2, inputs: { edit_prompt: "Make it warm", video_prompt: "Orbit slowly" } });
    expect(rerun.layout["0"]!.output).toEqual(parent.layout["0"]!.output);
    expect(rerun.layout["1"]!.output).toEqual(parent.layout["1"]!.output);
    expect((await eventsOf(jobId, "checkpoint")).map((event) => event.data.step)).toEqual([0, 1, 2]);
    expect(await env.rt.store.listReruns(parentId)).toEqual([expect.objectContaining({ id: jobId, status: "completed", rerunFromStep: 2 })]);
  });
});
