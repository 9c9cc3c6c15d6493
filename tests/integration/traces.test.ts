/**
 * Traces: with OTEL_EXPORTER_OTLP_ENDPOINT set, a job's run, each of its steps and each provider
 * call arrive at a local OTLP/HTTP receiver as spans, one trace per run, steps the run's children
 * and provider calls the steps' children, with job id, workflow, step, attempt and outcome as
 * attributes and nothing secret; with it unset nothing is registered or exported. In-process on
 * SQLite and PostgreSQL, and through the built server (scripts/server.mjs, which Next.js prepares
 * with instrumentation.ts).
 */
import { trace } from "@opentelemetry/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJob } from "@/lib/jobs/service";
import type { Runtime } from "@/lib/server/runtime";
import { createUserWithToken, FIXTURE_JPEG, jpegBlob, waitForJobStatus } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";
import { OtlpReceiver, type ReceivedSpan } from "@/tests/helpers/otlp-receiver";
import { startServer } from "@/tests/helpers/server";

const EDIT_PROMPT = "a secret prompt 7f3a: golden hour";
const ALLOWED_ATTRIBUTES = /^montage\.(job\.id|workflow\.id|workflow\.version|step\.index|step\.name|attempt|outcome|outcome\.code|provider|model|provider\.operation)$/;

let receiver: OtlpReceiver;

beforeAll(async () => {
  receiver = await new OtlpReceiver().start();
});

afterAll(async () => {
  await receiver.stop();
});

async function startJob(rt: Runtime, userId: string): Promise<string> {
  const workflow = rt.findWorkflow("img-edit-to-video")!;
  const { jobId } = await createJob(rt, {
    userId,
    workflow,
    inputs: { edit_prompt: EDIT_PROMPT, video_prompt: "Slow push-in" },
    upload: { filename: "photo.jpg", contentType: "image/jpeg", data: FIXTURE_JPEG, width: 320, height: 240 },
  });
  return jobId;
}

/** The run's trace, checked for shape: one run span, its steps as children, provider calls under the steps. */
function expectRunTrace(jobId: string, secrets: string[]): { run: ReceivedSpan; steps: ReceivedSpan[] } {
  const [run, ...moreRuns] = receiver.spansOf(jobId, "montage.run");
  expect(moreRuns).toEqual([]);
  expect(run).toMatchObject({ parentSpanId: undefined, service: "montage", attributes: { "montage.job.id": jobId, "montage.workflow.id": "img-edit-to-video", "montage.attempt": 1, "montage.outcome": "completed" } });
  const steps = receiver.spansOf(jobId, "montage.step").sort((a, b) => Number(a.attributes["montage.step.index"]) - Number(b.attributes["montage.step.index"]));
  expect(steps.map((step) => [step.attributes["montage.step.index"], step.attributes["montage.step.name"], step.attributes["montage.attempt"], step.attributes["montage.outcome"]])).toEqual([
    [0, "upload", 1, "completed"],
    [1, "image_edit", 1, "completed"],
    [2, "video_generation", 1, "completed"],
  ]);
  for (const step of steps) expect(step).toMatchObject({ traceId: run!.traceId, parentSpanId: run!.spanId });

  const stepOf = (span: ReceivedSpan) => steps.find((step) => step.spanId === span.parentSpanId)?.attributes["montage.step.name"];
  const models = receiver.spans.filter((span) => span.name === "montage.provider.model" && span.traceId === run!.traceId);
  expect(models.map((span) => [stepOf(span), span.attributes["montage.provider"], span.attributes["montage.model"], span.attributes["montage.outcome"]])).toEqual([
    ["image_edit", "local-models", "google/nano-banana", "ok"],
    ["video_generation", "local-models", "minimax/video-01", "ok"],
  ]);
  const puts = receiver.spans.filter((span) => span.name === "montage.provider.storage" && span.traceId === run!.traceId && span.attributes["montage.provider.operation"] === "put");
  expect(puts.map(stepOf).sort()).toEqual(["image_edit", "upload", "video_generation"]);

  // Nothing but ids, names and outcomes: no inputs, no tokens, no URLs.
  for (const span of receiver.spans.filter((candidate) => candidate.traceId === run!.traceId)) {
    for (const key of Object.keys(span.attributes)) expect(key).toMatch(ALLOWED_ATTRIBUTES);
  }
  const exported = receiver.bodies.join("\n");
  for (const secret of [EDIT_PROMPT, ...secrets]) expect(exported).not.toContain(secret);
  return { run: run!, steps };
}

describe.each<Provider>(["sqlite", "postgresql"])("traces in-process on %s", (provider) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  it("exports a run's trace: the run, its steps as children, provider calls under the steps", async () => {
    const rt = await useTestEnvironment(database, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    expect(rt.engine.tracer).toBeDefined();
    const { userId, token } = await createUserWithToken(`traces-${provider}@example.com`);
    const jobId = await startJob(rt, userId);
    await waitForJobStatus(jobId, ["completed"]);
    await rt.tracing.flush();
    expectRunTrace(jobId, [token, rt.authSecret()]);
  });

  it("a parked step's span says pending_retry and why; the run's too", async () => {
    const rt = await useTestEnvironment(database, { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    const { userId } = await createUserWithToken(`traces-parked-${provider}@example.com`);
    const jobId = await startJob(rt, userId);
    await waitForJobStatus(jobId, ["pending_retry"]);
    await rt.tracing.flush();
    const [run] = receiver.spansOf(jobId, "montage.run");
    expect(run!.attributes).toMatchObject({ "montage.outcome": "pending_retry", "montage.outcome.code": "quota" });
    const video = receiver.spansOf(jobId, "montage.step").find((span) => span.attributes["montage.step.index"] === 2);
    expect(video).toMatchObject({ parentSpanId: run!.spanId, attributes: { "montage.outcome": "pending_retry", "montage.outcome.code": "quota" } });
    const model = receiver.spans.find((span) => span.name === "montage.provider.model" && span.parentSpanId === video!.spanId);
    // A failed provider call records the error's kind, never its message.
    expect(model).toMatchObject({ status: 2, attributes: { "montage.outcome": "error", "montage.outcome.code": "RetryableError:quota" } });
  });

  it("with OTEL_EXPORTER_OTLP_ENDPOINT unset, registers nothing, wraps nothing and exports nothing", async () => {
    const rt = await useTestEnvironment(database, {});
    expect(rt.engine.tracer).toBeUndefined();
    expect(rt.tracing.tracer).toBeUndefined();
    // The API's global tracer is the no-op one: no provider is registered in this process.
    expect(trace.getTracer("montage").startSpan("probe").isRecording()).toBe(false);
    const { userId } = await createUserWithToken(`traces-off-${provider}@example.com`);
    const before = receiver.bodies.length;
    const jobId = await startJob(rt, userId);
    await waitForJobStatus(jobId, ["completed"]);
    await closeTestEnvironment();
    expect(receiver.bodies.length).toBe(before);
    expect(receiver.spansOf(jobId, "montage.run")).toEqual([]);
  });
});

describe("traces from the built server", () => {
  it("registers through instrumentation.ts under scripts/server.mjs: a job submitted over HTTP arrives as its trace", async () => {
    const database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    const { token } = await createUserWithToken("traces-server@example.com");
    const server = await startServer({ DATABASE_URL: database.url, DATA_DIR: database.dataDir, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
    try {
      const form = new FormData();
      form.append("workflow_id", "img-edit-to-video");
      form.append("edit_prompt", EDIT_PROMPT);
      form.append("file", jpegBlob(), "photo.jpg");
      const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } });
      const { job_id: jobId } = (await response.json()) as { job_id: string };
      await waitForJobStatus(jobId, ["completed"]);
      // The server batches spans for up to a second; a stop exports what is left.
      await server.stop();
      expectRunTrace(jobId, [token]);
    } finally {
      await server.stop();
      await closeTestEnvironment();
      await database.drop();
    }
  });
});
