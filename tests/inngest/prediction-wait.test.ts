/**
 * Long predictions under Inngest: the step waits inline once, then suspends; the run waits with
 * step.waitForEvent for the webhook's event and runs the step again, which re-attaches to the
 * prediction saved in its checkpoint (one GET: the polling fallback when the event never came).
 *
 * @inngest/test 1.0 cannot satisfy a waitForEvent step with inngest 4.24 (it validates the mocked
 * step's promise instead of the event), so the event or timeout is supplied by a mocked
 * `step.waitForEvent`; the op the real engine emits for the wait is checked separately.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { predictionCompleted } from "@/lib/inngest/events";
import { waitForPredictionUnderInngest, type WaitForWebhook } from "@/lib/inngest/prediction-wait";
import { InngestStepScope } from "@/lib/inngest/step-runner";
import { createWorkflowExecute, PREDICTION_WAIT_TIMEOUT } from "@/lib/inngest/workflow-execute";
import type { ModelOutput, ModelProvider, ModelRunRequest, Providers } from "@/lib/providers/types";
import { defineWorkflow, workflowConfigSchema, type Workflow } from "@/lib/workflows/definition";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, engineAnsweringWaits, insertJob, localProviders, queuedEventOf, testDeps, type TestEnv } from "./support";

/** A Replicate-like model: the prediction id is saved in the step state at once, and a re-run re-attaches to it. */
class FakePredictions implements ModelProvider {
  readonly name = "fake-predictions";
  readonly statuses = new Map<string, "processing" | "succeeded">();
  creates = 0;
  gets = 0;
  private readonly waitForWebhook: WaitForWebhook<{ id: string }>;

  /** `scope`: the one the run's step runner enters, as the runtime shares it with its providers. */
  constructor(scope: InngestStepScope) {
    this.waitForWebhook = waitForPredictionUnderInngest<{ id: string }>(scope);
  }

  finish(id: string): void {
    this.statuses.set(id, "succeeded");
  }

  async run(request: ModelRunRequest): Promise<ModelOutput> {
    const saved = request.state.get()?.predictionId;
    let id = typeof saved === "string" ? saved : "";
    if (!this.statuses.has(id)) {
      id = `pred${++this.creates}`;
      this.statuses.set(id, "processing");
      await request.state.save({ predictionId: id });
    }
    for (;;) {
      this.gets++;
      if (this.statuses.get(id) === "succeeded") return { body: Buffer.from(id), contentType: "text/plain" };
      await this.waitForWebhook(id, request.signal, 20);
      // What ReplicateModels does on an abort that is not a user's cancel: leave the prediction running.
      if (request.signal.aborted) throw request.signal.reason;
    }
  }

  async checkHealth() {
    return { healthy: true };
  }
}

const longPrediction: Workflow = {
  config: workflowConfigSchema.parse({
    id: "long-prediction",
    name: "Long prediction",
    steps: [{ name: "predict", type: "generation", label: "Run the model", model: "fake/slow-model" }],
  }),
  handlers: defineWorkflow({
    async predict(ctx) {
      const output = await ctx.providers.models.run({
        model: ctx.step.model!,
        input: {},
        jobId: ctx.jobId,
        stepIndex: ctx.stepIndex,
        signal: ctx.signal,
        onProgress: (percent, message) => ctx.progress(percent, message),
        state: ctx.state,
      });
      return { prediction: output.body.toString() };
    },
  }),
  version: "test-1",
};

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

/** A run of the long-prediction workflow whose waitForEvent answers come from `answers`, in order. */
async function runWithWaits(models: FakePredictions, answers: Array<(id: string) => unknown>) {
  const jobId = await insertJob(env, { workflow: longPrediction });
  const providers: Providers = { storage: localProviders(env).storage, models };
  const { client } = capturingClient(env);
  const fn = createWorkflowExecute(client, testDeps(env, providers, { findWorkflow: (id) => (id === longPrediction.config.id ? longPrediction : undefined) }));
  let asked = 0;
  const run = await engineAnsweringWaits(env, fn, jobId, async (waitId) => {
    const answer = answers[asked++];
    if (!answer) throw new Error(`unexpected wait ${waitId}`);
    return answer(waitId);
  });
  return { jobId, ...run };
}

describe("waiting for long predictions", () => {
  it("suspends the step, waits for the webhook event and resumes on the same prediction", async () => {
    const models = new FakePredictions(env.scope);
    const { jobId, engine, waitForEvent, executed } = await runWithWaits(models, [
      (id) => {
        models.finish("pred1");
        return { id: `evt-${id}`, name: predictionCompleted.name, data: { prediction_id: "pred1", status: "succeeded" }, ts: Date.now() };
      },
    ]);

    const { result, error } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toEqual({ status: "completed", result: { prediction: "pred1" } });
    expect(waitForEvent).toHaveBeenCalledTimes(1);
    expect(waitForEvent).toHaveBeenCalledWith("wait-prediction-pred1", {
      event: predictionCompleted,
      if: "async.data.prediction_id == 'pred1'",
      timeout: PREDICTION_WAIT_TIMEOUT,
    });
    expect(executed).toEqual(["step-0-predict", "step-0-predict-resumed-1"]);
    expect(models.creates).toBe(1);
    const job = await readJob(jobId);
    expect(job.status).toBe("completed");
    expect(job.layout["0"]).toMatchObject({ status: "completed", output: { prediction: "pred1" } });
    // The suspension recorded nothing: no failure, no retry; the step simply started twice.
    const events = await eventsOf(jobId);
    expect(events.map((e) => e.type)).not.toContain("retry_scheduled");
    expect(events.filter((e) => e.type === "checkpoint")).toHaveLength(1);
  });

  it("falls back to checking the prediction when the wait times out, and waits again while it still runs", async () => {
    const models = new FakePredictions(env.scope);
    const { engine, waitForEvent, executed } = await runWithWaits(models, [
      () => null, // timed out, prediction still running: the step suspends again
      () => {
        models.finish("pred1"); // finished, but its webhook was lost: the re-run step's GET finds it
        return null;
      },
    ]);

    const { result } = await engine.execute();

    expect(result).toEqual({ status: "completed", result: { prediction: "pred1" } });
    expect(waitForEvent.mock.calls.map(([id]) => id)).toEqual(["wait-prediction-pred1", "wait-prediction-pred1-resumed-1"]);
    expect(executed).toEqual(["step-0-predict", "step-0-predict-resumed-1", "step-0-predict-resumed-2"]);
    expect(models.creates).toBe(1);
  });

  it("emits a real WaitForEvent op matched on the prediction id", async () => {
    const models = new FakePredictions(env.scope);
    const jobId = await insertJob(env, { workflow: longPrediction });
    const { client } = capturingClient(env);
    const fn = createWorkflowExecute(
      client,
      testDeps(env, { storage: localProviders(env).storage, models }, { findWorkflow: () => longPrediction }),
    );
    const engine = new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)] });

    const { step } = await engine.executeStep("wait-prediction-pred1");

    expect(step).toMatchObject({
      op: "WaitForEvent",
      name: "montage/replicate.prediction.completed",
      displayName: "wait-prediction-pred1",
      opts: { timeout: PREDICTION_WAIT_TIMEOUT, if: "async.data.prediction_id == 'pred1'" },
    });
    expect((await readJob(jobId)).status).toBe("running");
  });

  it("waits inline through the in-process waiter outside Inngest", async () => {
    const inProcess = vi.fn(async (id: string) => ({ id }));
    const wait = waitForPredictionUnderInngest(new InngestStepScope(), inProcess);
    const signal = new AbortController().signal;

    await expect(wait("pred9", signal, 5)).resolves.toEqual({ id: "pred9" });
    await expect(wait("pred9", signal, 5)).resolves.toEqual({ id: "pred9" });
    expect(inProcess).toHaveBeenCalledTimes(2);
  });
});
