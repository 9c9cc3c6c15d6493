/**
 * Traces under Inngest (@inngest/test), through the same tracing set-up (lib/server/tracing.ts)
 * and a local OTLP/HTTP receiver: each invocation is a trace whose root is the Inngest SDK's
 * `inngest.execution` span, the step it runs is that span's child (with the job's attributes), and
 * the provider calls are the step's children.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { silentLogger } from "@/lib/log";
import { startTracing, type Tracing } from "@/lib/server/tracing";
import { OtlpReceiver } from "@/tests/helpers/otlp-receiver";
import { capturingClient, createTestEnv, insertJob, localProviders, queuedEventOf, testDeps, type TestEnv } from "./support";

let env: TestEnv;
let receiver: OtlpReceiver;
let tracing: Tracing;

beforeAll(async () => {
  env = await createTestEnv();
  receiver = await new OtlpReceiver().start();
  tracing = startTracing({ ...env.config, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url }, silentLogger);
});

afterAll(async () => {
  await tracing.shutdown();
  await receiver.stop();
  await env.cleanup();
});

it("each invocation on Inngest is a trace: its step under the SDK's execution span, the model calls under the step", async () => {
  const jobId = await insertJob(env);
  const { client } = capturingClient(env);
  const deps = testDeps(env, localProviders(env));
  const fn = createWorkflowExecute(client, { ...deps, engine: { ...deps.engine, tracer: tracing.tracer! } });
  const { result, error } = await new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)] }).execute();
  expect(error).toBeUndefined();
  expect(result).toMatchObject({ status: "completed" });
  await tracing.flush();

  // No montage.run span under Inngest: each invocation's own `inngest.execution` span (the SDK's) is its step's parent.
  expect(receiver.spansOf(jobId, "montage.run")).toEqual([]);
  const steps = receiver.spansOf(jobId, "montage.step");
  expect(steps.map((span) => [span.attributes["montage.step.name"], span.attributes["montage.attempt"], span.attributes["montage.workflow.id"], span.attributes["montage.outcome"]]).sort()).toEqual([
    ["image_edit", 1, "img-edit-to-video", "completed"],
    ["upload", 1, "img-edit-to-video", "completed"],
    ["video_generation", 1, "img-edit-to-video", "completed"],
  ]);
  for (const step of steps) {
    const parent = receiver.spans.find((span) => span.spanId === step.parentSpanId);
    expect(parent).toMatchObject({ name: "inngest.execution", traceId: step.traceId, parentSpanId: undefined });
  }
  const models = receiver.spans.filter((span) => span.name === "montage.provider.model" && steps.some((step) => step.spanId === span.parentSpanId));
  expect(models.map((span) => span.attributes["montage.model"]).sort()).toEqual(["google/nano-banana", "minimax/video-01"]);
});
