/**
 * The real `replicate` SDK against the local Replicate fake: runs, re-attach, cancel, webhooks and
 * every error mapping; plus the webhook verifier and the output fetcher's guards.
 */
import { readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { CanceledError, HardError, RetryableError, isCanceledError } from "@/lib/workflows/errors";
import { fetchOutput, isPrivateAddress } from "@/lib/providers/fetch-output";
import { ReplicateModels } from "@/lib/providers/replicate/models";
import type { ReplicateModelsOptions } from "@/lib/providers/replicate/models";
import { inlineMediaUrls } from "@/lib/providers/replicate/inline-media";
import { createPredictionWaiters } from "@/lib/providers/replicate/prediction-waiters";
import { fetchWebhookSecret, verifyReplicateWebhook } from "@/lib/providers/replicate/webhook";
import type { ModelRunRequest, StepState } from "@/lib/providers/types";
import { ReplicateFake, signWebhook } from "@/tests/fakes/replicate-fake";

const MODEL = "google/nano-banana";
const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");

let fake: ReplicateFake;
let photo: Buffer;

beforeAll(async () => {
  photo = await readFile(path.join(FIXTURES, "photo.png"));
  fake = await new ReplicateFake({
    requiredInputs: { [MODEL]: ["prompt"] },
    output: { body: photo, contentType: "image/png", filename: "output.png" },
  }).start();
});

afterAll(async () => {
  await fake.stop();
});

afterEach(() => {
  fake.clearFailures();
  fake.resetAfterCreate = 0;
  fake.completeAfter = { polls: 2 };
  fake.dropWebhooks = false;
  fake.webhookDelayMs = 0;
});

function localFetchOutput(url: string, signal: AbortSignal) {
  return fetchOutput(url, {
    signal,
    allowedHosts: [fake.deliveryHost],
    requireHttps: false,
    allowPrivateAddresses: true,
    provider: "replicate",
  });
}

function makeModels(overrides: Partial<ReplicateModelsOptions> = {}): ReplicateModels {
  return new ReplicateModels({
    apiToken: fake.token,
    baseUrl: fake.baseUrl,
    pollIntervalMs: 10,
    requestTimeoutMs: 5000,
    fetchOutput: localFetchOutput,
    ...overrides,
  });
}

interface MemoryState extends StepState {
  saves: Array<Record<string, unknown>>;
}

function memoryState(initial?: Record<string, unknown>, onSave?: () => void): MemoryState {
  let value = initial;
  const saves: Array<Record<string, unknown>> = [];
  return {
    saves,
    get: () => value,
    save: async (state) => {
      value = state;
      saves.push(state);
      onSave?.();
    },
  };
}

function makeRequest(overrides: Partial<ModelRunRequest> = {}): ModelRunRequest & { progress: number[] } {
  const progress: number[] = [];
  return {
    model: MODEL,
    input: { prompt: "make it blue", image_input: ["https://example.com/in.png"] },
    jobId: "job-1",
    stepIndex: 1,
    signal: new AbortController().signal,
    onProgress: async (percent) => {
      progress.push(percent);
    },
    state: memoryState(),
    progress,
    ...overrides,
  };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

function getsOf(predictionId: string): number {
  return fake.requests.filter((request) => request.method === "GET" && request.path === `/v1/predictions/${predictionId}`).length;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("ReplicateModels.run", () => {
  it("creates a prediction, saves its id at once, polls it and downloads the output", async () => {
    const before = fake.creations;
    const request = makeRequest();
    const output = await makeModels().run(request);

    expect(output.contentType).toBe("image/png");
    expect(output.body.equals(photo)).toBe(true);
    expect(fake.creations - before).toBe(1);
    const predictionId = request.state.get()?.predictionId;
    expect(typeof predictionId).toBe("string");
    expect(fake.predictions.get(predictionId as string)?.json.status).toBe("succeeded");
    expect(request.progress.at(-1)).toBe(100);
    // No webhook configured: none requested.
    expect(fake.predictions.get(predictionId as string)?.json.webhook).toBeUndefined();
  });

  it("takes the first file when the output is an array", async () => {
    const second = { body: Buffer.from("second"), contentType: "image/png", filename: "second.png" };
    const first = { body: photo, contentType: "image/png", filename: "first.png" };
    fake.script({ status: "succeeded", files: [first, second], asArray: true });
    const output = await makeModels().run(makeRequest());
    expect(output.body.equals(photo)).toBe(true);
  });

  it("re-attaches to the prediction in its state: one creation across a crash and a resume", async () => {
    const before = fake.creations;
    fake.completeAfter = { polls: 3 };
    // The process "dies" right after the checkpoint holding the prediction id was written.
    const state = memoryState(undefined, () => {
      throw new Error("simulated crash after saving state");
    });
    const crashed = await caught(makeModels().run(makeRequest({ state })));
    expect((crashed as Error).message).toMatch(/simulated crash/);
    const predictionId = state.get()?.predictionId as string;
    expect(fake.predictions.get(predictionId)?.json.status).toBe("starting");

    const resumed = memoryState({ predictionId });
    const output = await makeModels().run(makeRequest({ state: resumed }));
    expect(output.body.equals(photo)).toBe(true);
    expect(fake.creations - before).toBe(1);
    expect(resumed.saves).toHaveLength(0);
    expect(getsOf(predictionId)).toBeGreaterThanOrEqual(3);
  });

  it("re-attaches to an already succeeded prediction without creating or waiting", async () => {
    const predictionId = fake.seed(MODEL, { status: "succeeded" }, "succeeded");
    const before = fake.creations;
    const output = await makeModels().run(makeRequest({ state: memoryState({ predictionId }) }));
    expect(output.body.equals(photo)).toBe(true);
    expect(fake.creations).toBe(before);
  });

  it.each([
    ["failed", { status: "failed", error: "boom" }],
    ["canceled", { status: "canceled" }],
    ["aborted", { status: "aborted" }],
  ] as const)("creates a new prediction when the saved one %s", async (status, outcome) => {
    const deadId = fake.seed(MODEL, outcome, status);
    const before = fake.creations;
    const state = memoryState({ predictionId: deadId, other: "kept" });
    await makeModels().run(makeRequest({ state }));
    expect(fake.creations - before).toBe(1);
    expect(state.get()?.predictionId).not.toBe(deadId);
    expect(state.get()?.other).toBe("kept");
  });

  it("creates a new prediction when the saved one's output has expired or it is unknown", async () => {
    const expiredId = fake.seed(MODEL, { status: "succeeded" }, "succeeded");
    fake.expireOutputs();
    let before = fake.creations;
    await makeModels().run(makeRequest({ state: memoryState({ predictionId: expiredId }) }));
    expect(fake.creations - before).toBe(1);

    before = fake.creations;
    await makeModels().run(makeRequest({ state: memoryState({ predictionId: "doesnotexist" }) }));
    expect(fake.creations - before).toBe(1);
  });

  it("cancels the prediction at the provider when the signal aborts", async () => {
    fake.completeAfter = { polls: 10_000 };
    const controller = new AbortController();
    const request = makeRequest({ signal: controller.signal });
    const running = makeModels().run(request);
    await until(() => typeof request.state.get()?.predictionId === "string");
    const predictionId = request.state.get()?.predictionId as string;
    await until(() => getsOf(predictionId) >= 2);
    controller.abort(new CanceledError("Canceled by user"));

    const error = await caught(running);
    expect(error).toBeInstanceOf(CanceledError);
    expect(fake.cancellations).toContain(predictionId);
    expect(fake.predictions.get(predictionId)?.json.status).toBe("canceled");
  });

  it("leaves the prediction running when cancelOnAbort says so (e.g. shutdown)", async () => {
    fake.completeAfter = { polls: 10_000 };
    const controller = new AbortController();
    const request = makeRequest({ signal: controller.signal });
    const running = makeModels({ cancelOnAbort: (reason) => isCanceledError(reason) }).run(request);
    await until(() => typeof request.state.get()?.predictionId === "string");
    const predictionId = request.state.get()?.predictionId as string;
    controller.abort(new Error("shutting down"));
    expect(((await caught(running)) as Error).message).toBe("shutting down");
    expect(fake.cancellations).not.toContain(predictionId);
  });

  it("gives up waiting after maxWaitMs with a retryable timeout, leaving the prediction to re-attach to", async () => {
    fake.completeAfter = { polls: 10_000 };
    const request = makeRequest();
    const error = await caught(makeModels({ maxWaitMs: 100 }).run(request));
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).reason).toBe("timeout");
    expect(fake.cancellations).not.toContain(request.state.get()?.predictionId);
  });

  it("exposes cancelPrediction", async () => {
    const id = fake.seed(MODEL, { status: "succeeded" });
    await makeModels().cancelPrediction(id);
    expect(fake.predictions.get(id)?.json.status).toBe("canceled");
  });
});

describe("ReplicateModels error mapping", () => {
  async function runError(overrides: Partial<ReplicateModelsOptions> = {}, request = makeRequest()): Promise<unknown> {
    return caught(makeModels(overrides).run(request));
  }

  it("401 → RetryableError auth (a wrong token, and an injected 401)", async () => {
    const wrong = await runError({ apiToken: "r8_wrong" });
    expect(wrong).toBeInstanceOf(RetryableError);
    expect(wrong).toMatchObject({ reason: "auth", provider: "replicate" });
    expect((wrong as Error).message).toMatch(/valid authentication token/);

    fake.fail({ route: "create", status: 401 });
    expect(await runError()).toMatchObject({ reason: "auth" });
  });

  it("402 → RetryableError quota", async () => {
    fake.fail({ route: "create", status: 402 });
    const error = await runError();
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: "quota" });
    expect((error as Error).message).toMatch(/insufficient credit/);
  });

  it("429 → RetryableError rate_limit, Retry-After header first", async () => {
    fake.fail({ route: "create", status: 429, retryAfter: "7", resetSeconds: 30 });
    expect(await runError()).toMatchObject({ reason: "rate_limit", retryAfterSeconds: 7 });
  });

  it("429 → RetryableError rate_limit, else the 'resets in ~Ns' hint", async () => {
    fake.fail({ route: "create", status: 429, resetSeconds: 12 });
    const error = await runError();
    expect(error).toMatchObject({ reason: "rate_limit", retryAfterSeconds: 12 });
    expect((error as Error).message).toMatch(/Request was throttled/);
  });

  it("5xx → RetryableError outage, on create and while polling", async () => {
    fake.fail({ route: "create", status: 500 });
    expect(await runError()).toMatchObject({ reason: "outage" });
    fake.clearFailures();

    fake.fail({ route: "get", status: 503 });
    const request = makeRequest();
    const error = await runError({}, request);
    expect(error).toMatchObject({ reason: "outage" });
    // The prediction exists and its id is saved: the resumed step re-attaches.
    expect(typeof request.state.get()?.predictionId).toBe("string");
  });

  it("network failure → RetryableError outage", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await runError({ baseUrl: `http://127.0.0.1:${port}/v1` });
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: "outage", provider: "replicate" });
  });

  it("a create whose answer is lost is not sent again (the SDK would retry it): one prediction, outage", async () => {
    const before = fake.creations;
    fake.resetAfterCreate = 1;
    const error = await runError();
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: "outage" });
    expect(fake.creations - before).toBe(1);
  });

  it("does not re-attach to a saved prediction of another model", async () => {
    const otherId = fake.seed("minimax/video-01", { status: "succeeded" }, "processing");
    const before = fake.creations;
    const state = memoryState({ predictionId: otherId });
    await makeModels().run(makeRequest({ state }));
    expect(fake.creations - before).toBe(1);
    expect(state.get()?.predictionId).not.toBe(otherId);
  });

  it("422 → HardError invalid_input with Replicate's detail", async () => {
    const error = await runError({}, makeRequest({ input: { image_input: [] } }));
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "invalid_input", provider: "replicate" });
    expect((error as Error).message).toContain("- input: prompt is required");
  });

  it("a failed prediction → HardError prediction_failed with Replicate's error text", async () => {
    fake.script({ status: "failed", error: "CUDA error: device-side assert triggered" });
    const error = await runError();
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "prediction_failed" });
    expect((error as Error).message).toContain("CUDA error: device-side assert triggered");
  });

  it.each([
    "NSFW content detected. Try running it again, or try a different prompt.",
    "The input or output was flagged as sensitive. Please try again with different inputs. (E005)",
    "Your request was rejected by the safety system.",
  ])("a failed prediction about content → HardError content_rejected (%s)", async (text) => {
    fake.script({ status: "failed", error: text });
    expect(await runError()).toMatchObject({ code: "content_rejected", message: text });
  });

  it("a transient platform failure ('please retry (code: PA)') → RetryableError outage", async () => {
    fake.script({ status: "failed", error: "Prediction interrupted; please retry (code: PA)" });
    expect(await runError()).toMatchObject({ reason: "outage" });
  });

  it("a prediction canceled at Replicate → CanceledError", async () => {
    fake.script({ status: "canceled" });
    expect(await runError()).toBeInstanceOf(CanceledError);
  });

  it("an aborted prediction (never started) → RetryableError timeout", async () => {
    fake.script({ status: "aborted" });
    expect(await runError()).toMatchObject({ reason: "timeout" });
  });

  it("an output on a host outside the allowlist → HardError output_refused", async () => {
    const models = makeModels({
      fetchOutput: (url, signal) => fetchOutput(url, { signal, provider: "replicate" }), // production defaults
    });
    expect(await caught(models.run(makeRequest()))).toMatchObject({ code: "output_refused" });
  });
});

describe("inlineMediaUrls (local storage media sent as data URIs)", () => {
  const source = {
    owns: (url: string) => url.startsWith("http://localhost:3000/files/"),
    read: async () => ({ body: photo, contentType: "image/png" }),
  };

  it("inlines owned URLs at any depth and leaves everything else alone", async () => {
    const input = {
      prompt: "jobs/abc/1.png is not a URL",
      image_input: ["http://localhost:3000/files/jobs/a/0-upload.png", "https://example.com/ref.png"],
      nested: { first_frame_image: "http://localhost:3000/files/jobs/a/1-image_edit.png" },
      steps: 4,
    };
    const inlined = await inlineMediaUrls(input, source, new AbortController().signal);
    const dataUri = `data:image/png;base64,${photo.toString("base64")}`;
    expect(inlined).toEqual({ ...input, image_input: [dataUri, "https://example.com/ref.png"], nested: { first_frame_image: dataUri } });
  });

  it("refuses more than the SDK's inline limit with a hard error pointing at Cloudinary", async () => {
    const error = await caught(
      inlineMediaUrls({ image_input: ["http://localhost:3000/files/jobs/a/0.png"] }, source, new AbortController().signal, photo.length - 1),
    );
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "input_too_large", provider: "replicate" });
    expect((error as Error).message).toMatch(/CLOUDINARY_URL/);
  });

  it("ReplicateModels sends the prepared input on create, and does not prepare a re-attach", async () => {
    let prepared = 0;
    const models = makeModels({
      prepareInput: async (input) => {
        prepared += 1;
        return { ...input, image_input: ["data:image/png;base64,AAAA"] };
      },
    });
    const request = makeRequest();
    await models.run(request);
    const predictionId = request.state.get()?.predictionId as string;
    expect(fake.predictions.get(predictionId)?.json.input).toMatchObject({ image_input: ["data:image/png;base64,AAAA"] });
    await models.run(makeRequest({ state: memoryState({ predictionId }) }));
    expect(prepared).toBe(1);
  });
});

describe("ReplicateModels.checkHealth", () => {
  it("is healthy with a valid token and reports auth otherwise", async () => {
    expect(await makeModels().checkHealth()).toEqual({ healthy: true });
    const unhealthy = await makeModels({ apiToken: "r8_wrong" }).checkHealth();
    expect(unhealthy.healthy).toBe(false);
    expect(unhealthy.detail).toMatch(/^auth: /);
  });

  it("reports an outage", async () => {
    fake.fail({ route: "account", status: 503 });
    const status = await makeModels().checkHealth();
    expect(status).toMatchObject({ healthy: false });
    expect(status.detail).toMatch(/^outage: /);
  });
});

describe("webhooks", () => {
  let receiver: http.Server;
  let receiverUrl: string;
  const waiters = createPredictionWaiters();
  const verdicts: string[] = [];
  let models: ReplicateModels;

  beforeAll(async () => {
    models = makeModels();
    // What the /api/webhooks/replicate route does: raw body, verify, hand over, answer 2xx quickly.
    receiver = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        void fetchWebhookSecret(models.client).then((secret) => {
          const result = verifyReplicateWebhook({ headers: req.headers, rawBody: Buffer.concat(chunks), secret });
          verdicts.push(result.ok ? "ok" : result.reason);
          if (!result.ok) return void res.writeHead(401).end();
          waiters.deliver(result.prediction);
          res.writeHead(204).end();
        });
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/api/webhooks/replicate`;
  });

  afterAll(async () => {
    receiver.closeAllConnections();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  });

  it("finishes on the signed completed webhook without polling", async () => {
    fake.completeAfter = { ms: 50 };
    const request = makeRequest();
    const started = Date.now();
    const output = await makeModels({
      webhookUrl: receiverUrl,
      waitForWebhook: waiters.wait,
      webhookFallbackMs: 10_000,
    }).run(request);
    expect(output.body.equals(photo)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5000);

    const predictionId = request.state.get()?.predictionId as string;
    const prediction = fake.predictions.get(predictionId)?.json;
    expect(prediction?.webhook).toBe(receiverUrl);
    expect(prediction?.webhook_events_filter).toEqual(["completed"]);
    expect(getsOf(predictionId)).toBe(0);
    const delivery = fake.webhookDeliveries.find((entry) => entry.body.includes(predictionId));
    expect(delivery).toMatchObject({ event: "completed", status: 204 });
    expect(verdicts.at(-1)).toBe("ok");
  });

  it("falls back to polling when the webhook never comes", async () => {
    fake.completeAfter = { ms: 30 };
    fake.dropWebhooks = true;
    const request = makeRequest();
    const output = await makeModels({
      webhookUrl: receiverUrl,
      waitForWebhook: waiters.wait,
      webhookFallbackMs: 100,
    }).run(request);
    expect(output.body.equals(photo)).toBe(true);
    expect(getsOf(request.state.get()?.predictionId as string)).toBeGreaterThanOrEqual(1);
  });

  it("fetchWebhookSecret gets GET /webhooks/default/secret once and caches it", async () => {
    const client = makeModels().client;
    const count = () => fake.requests.filter((request) => request.path === "/v1/webhooks/default/secret").length;
    const before = count();
    expect(await fetchWebhookSecret(client)).toBe(fake.webhookSecret);
    expect(await fetchWebhookSecret(client)).toBe(fake.webhookSecret);
    expect(count() - before).toBe(1);
    await fetchWebhookSecret(client, { refresh: true });
    expect(count() - before).toBe(2);
  });

  it("fetchWebhookSecret maps a 401 and does not cache the failure", async () => {
    const client = makeModels().client;
    fake.fail({ route: "webhook_secret", status: 401, times: 1 });
    expect(await caught(fetchWebhookSecret(client))).toMatchObject({ reason: "auth" });
    expect(await fetchWebhookSecret(client)).toBe(fake.webhookSecret);
  });
});

describe("verifyReplicateWebhook", () => {
  const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const body = JSON.stringify({ id: "p1", status: "succeeded", output: "https://replicate.delivery/x.png" });
  const now = new Date("2025-06-01T12:00:00Z");
  const timestamp = Math.floor(now.getTime() / 1000);

  function headers(overrides: Record<string, string> = {}) {
    return {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(secret, "msg_1", timestamp, body),
      ...overrides,
    };
  }

  it("accepts a valid signature and returns the prediction", () => {
    const result = verifyReplicateWebhook({ headers: headers(), rawBody: body, secret, now });
    expect(result).toMatchObject({ ok: true, webhookId: "msg_1", prediction: { id: "p1", status: "succeeded" } });
  });

  it("accepts Headers objects and Buffer bodies", () => {
    const result = verifyReplicateWebhook({ headers: new Headers(headers()), rawBody: Buffer.from(body), secret, now });
    expect(result.ok).toBe(true);
  });

  it("refuses a tampered body", () => {
    const tampered = body.replace("succeeded", "failed");
    expect(verifyReplicateWebhook({ headers: headers(), rawBody: tampered, secret, now })).toEqual({
      ok: false,
      reason: "invalid_signature",
    });
  });

  it("refuses a signature made with another secret", () => {
    const other = "whsec_" + Buffer.from("another secret entirely").toString("base64");
    const signature = signWebhook(other, "msg_1", timestamp, body);
    const result = verifyReplicateWebhook({ headers: headers({ "webhook-signature": signature }), rawBody: body, secret, now });
    expect(result).toEqual({ ok: false, reason: "invalid_signature" });
  });

  it("refuses a stale timestamp and a future one (more than 5 minutes off)", () => {
    for (const [offset, reason] of [
      [-301, "timestamp_too_old"],
      [301, "timestamp_too_new"],
    ] as const) {
      const shifted = timestamp + offset;
      const result = verifyReplicateWebhook({
        headers: headers({ "webhook-timestamp": String(shifted), "webhook-signature": signWebhook(secret, "msg_1", shifted, body) }),
        rawBody: body,
        secret,
        now,
      });
      expect(result).toEqual({ ok: false, reason });
    }
    const edge = timestamp - 299;
    const atEdge = verifyReplicateWebhook({
      headers: headers({ "webhook-timestamp": String(edge), "webhook-signature": signWebhook(secret, "msg_1", edge, body) }),
      rawBody: body,
      secret,
      now,
    });
    expect(atEdge.ok).toBe(true);
  });

  it("accepts any one of several signatures (secret rotation) and ignores other versions", () => {
    const valid = signWebhook(secret, "msg_1", timestamp, body);
    const bogus = `v1,${Buffer.alloc(32, 7).toString("base64")}`;
    const wrongVersion = valid.replace("v1,", "v2,");
    const multiple = verifyReplicateWebhook({
      headers: headers({ "webhook-signature": `${bogus} ${valid}` }),
      rawBody: body,
      secret,
      now,
    });
    expect(multiple.ok).toBe(true);
    const onlyOtherVersions = verifyReplicateWebhook({
      headers: headers({ "webhook-signature": `${bogus} ${wrongVersion} v1,short` }),
      rawBody: body,
      secret,
      now,
    });
    expect(onlyOtherVersions).toEqual({ ok: false, reason: "invalid_signature" });
  });

  it("refuses missing headers, a malformed timestamp and a signed non-prediction body", () => {
    expect(verifyReplicateWebhook({ headers: { "webhook-id": "msg_1" }, rawBody: body, secret, now })).toEqual({
      ok: false,
      reason: "missing_headers",
    });
    expect(verifyReplicateWebhook({ headers: headers({ "webhook-timestamp": "12abc" }), rawBody: body, secret, now })).toEqual({
      ok: false,
      reason: "invalid_timestamp",
    });
    const notPrediction = JSON.stringify({ hello: "world" });
    const signed = headers({ "webhook-signature": signWebhook(secret, "msg_1", timestamp, notPrediction) });
    expect(verifyReplicateWebhook({ headers: signed, rawBody: notPrediction, secret, now })).toEqual({
      ok: false,
      reason: "invalid_body",
    });
  });
});

describe("replicate fake fidelity", () => {
  it("refuses unknown top-level fields with 422 like the real API", async () => {
    const response = await fetch(`${fake.baseUrl}/models/${MODEL}/predictions`, {
      method: "POST",
      headers: { authorization: `Bearer ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify({ input: { prompt: "x" }, model: MODEL }),
    });
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { detail: string; status: number };
    expect(problem.status).toBe(422);
    expect(problem.detail).toMatch(/Additional property model is not allowed/);
  });
});

describe("fetchOutput", () => {
  let server: http.Server;
  let host: string;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      if (url.pathname === "/file.png") return void res.writeHead(200, { "content-type": "image/png" }).end(photo);
      if (url.pathname === "/redirect-ok") return void res.writeHead(302, { location: "/file.png" }).end();
      if (url.pathname === "/redirect-away") return void res.writeHead(302, { location: "https://evil.example.com/x" }).end();
      if (url.pathname === "/redirect-localhost") {
        return void res.writeHead(302, { location: `http://localhost:${url.searchParams.get("port")}/file.png` }).end();
      }
      if (url.pathname.startsWith("/loop")) {
        const n = Number(url.pathname.slice("/loop".length) || "0");
        return void res.writeHead(307, { location: `/loop${n + 1}` }).end();
      }
      if (url.pathname === "/gone") return void res.writeHead(404).end();
      if (url.pathname === "/down") return void res.writeHead(503).end();
      if (url.pathname === "/chunked") {
        res.writeHead(200, { "content-type": "application/octet-stream" });
        res.write(Buffer.alloc(600));
        res.end(Buffer.alloc(600));
        return;
      }
      res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const local = () => ({ allowedHosts: [host], requireHttps: false, allowPrivateAddresses: true });

  it("downloads from an allowlisted host and follows a redirect within the allowlist", async () => {
    const direct = await fetchOutput(`http://${host}/file.png`, local());
    expect(direct.contentType).toBe("image/png");
    expect(direct.body.equals(photo)).toBe(true);
    expect((await fetchOutput(`http://${host}/redirect-ok`, local())).body.equals(photo)).toBe(true);
  });

  it("refuses hosts outside the allowlist, also after a redirect", async () => {
    expect(await caught(fetchOutput("https://example.com/x.png", {}))).toMatchObject({ code: "output_refused" });
    expect(await caught(fetchOutput(`http://${host}/redirect-away`, local()))).toMatchObject({ code: "output_refused" });
  });

  it("refuses plain http when HTTPS is required, and more than 3 redirects", async () => {
    expect(await caught(fetchOutput(`http://${host}/file.png`, { ...local(), requireHttps: true }))).toMatchObject({
      code: "output_refused",
    });
    const error = await caught(fetchOutput(`http://${host}/loop0`, local()));
    expect(error).toMatchObject({ code: "output_refused" });
    expect((error as Error).message).toMatch(/Too many redirects/);
  });

  it("refuses private addresses unless allowPrivateAddresses, for literals and for names resolving there", async () => {
    const strict = { allowedHosts: [host, "localhost"], requireHttps: false };
    expect(await caught(fetchOutput(`http://${host}/file.png`, strict))).toMatchObject({ code: "output_refused" });
    const port = host.split(":")[1];
    // "localhost" is allowlisted by name, but it resolves to loopback: the connect-time lookup refuses it.
    const viaDns = await caught(fetchOutput(`http://localhost:${port}/file.png`, strict));
    expect(viaDns).toMatchObject({ code: "output_refused" });
    expect((viaDns as Error).message).toMatch(/private address/);
    expect(isPrivateAddress("10.1.2.3")).toBe(true);
    expect(isPrivateAddress("169.254.169.254")).toBe(true);
    expect(isPrivateAddress("::ffff:127.0.0.1")).toBe(true);
    expect(isPrivateAddress("fd00::1")).toBe(true);
    expect(isPrivateAddress("8.8.8.8")).toBe(false);
    expect(isPrivateAddress("2606:4700::1111")).toBe(false);
  });

  it("caps the size while streaming", async () => {
    const error = await caught(fetchOutput(`http://${host}/chunked`, { ...local(), maxBytes: 1000 }));
    expect(error).toMatchObject({ code: "output_too_large" });
    expect((await fetchOutput(`http://${host}/chunked`, { ...local(), maxBytes: 1200 })).body.length).toBe(1200);
  });

  it("maps 404 to HardError and 5xx to RetryableError outage", async () => {
    expect(await caught(fetchOutput(`http://${host}/gone`, local()))).toMatchObject({ code: "output_unavailable" });
    expect(await caught(fetchOutput(`http://${host}/down`, local()))).toMatchObject({ reason: "outage" });
  });

  it("throws the caller's abort reason", async () => {
    const controller = new AbortController();
    controller.abort(new CanceledError());
    expect(await caught(fetchOutput(`http://${host}/file.png`, { ...local(), signal: controller.signal }))).toBeInstanceOf(
      CanceledError,
    );
  });
});
