/**
 * `POST /api/webhooks/replicate` through its route handler: signature cases (valid, tampered body,
 * wrong secret, stale, duplicate webhook-id), the secret from REPLICATE_WEBHOOK_SECRET or from
 * GET /v1/webhooks/default/secret, and a whole Image Edit to Video run completed by the fake's signed
 * webhooks instead of polling, on SQLite and PostgreSQL.
 */
import { randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { POST } from "@/app/api/webhooks/replicate/route";
import type { PredictionCompletedEvent, PredictionCompletedForwarder } from "@/lib/providers/replicate/webhook-receiver";
import { runtime } from "@/lib/server/runtime";
import { signWebhook } from "@/tests/fakes/replicate-fake";
import {
  createUser,
  IMAGE_MODEL,
  predictionsSince,
  startImageToVideo,
  startProductionStack,
  waitForJob,
  type ProductionStack,
} from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

let stack: ProductionStack;
let database: TestDatabase | undefined;
let receiver: http.Server;
let receiverOrigin: string;
const forwarded: PredictionCompletedEvent[] = [];
const recordForwarded: PredictionCompletedForwarder = async (event) => {
  forwarded.push(event);
};
/** Where the test's runtime forwards verified completions (another driver's event bus); a test may swap it. */
let forward: PredictionCompletedForwarder = recordForwarded;

beforeAll(async () => {
  stack = await startProductionStack();
  // Montage's public URL, as Replicate reaches it: Node's HTTP server in front of the route handler.
  receiver = http.createServer((req, res) => void serveRoute(req, res));
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  receiverOrigin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await closeTestEnvironment();
  await database?.drop();
  receiver.closeAllConnections();
  await new Promise<void>((resolve) => receiver.close(() => resolve()));
  await stack.stop();
});

afterEach(() => {
  stack.replicate.completeAfter = { polls: 2 };
  stack.replicate.clearFailures();
  forward = recordForwarded;
  forwarded.length = 0;
});

async function serveRoute(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === "string") headers.set(name, value);
  const response = await POST(new Request(`${receiverOrigin}${req.url}`, { method: "POST", headers, body: Buffer.concat(chunks) }));
  res.writeHead(response.status, { "content-type": "application/json" }).end(Buffer.from(await response.arrayBuffer()));
}

async function freshProcess(overrides: Record<string, string> = {}, provider: Provider = "sqlite"): Promise<void> {
  const previous = database;
  database = await createTestDatabase(provider);
  await useTestEnvironment(database, stack.env(overrides), { forwardPredictionCompleted: (event, meta) => forward(event, meta) });
  await previous?.drop();
}

interface Delivery {
  body: string;
  id?: string;
  timestamp?: number;
  secret?: string;
  signedBody?: string;
}

function deliver({ body, id = `msg_${randomBytes(8).toString("hex")}`, timestamp = Math.floor(Date.now() / 1000), secret = stack.replicate.webhookSecret, signedBody = body }: Delivery) {
  return POST(
    new Request("http://localhost:3999/api/webhooks/replicate", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(secret, id, timestamp, signedBody),
      },
      body,
    }),
  );
}

function prediction(status: string, id = randomBytes(10).toString("hex")): string {
  return JSON.stringify({ id, model: IMAGE_MODEL, status, output: status === "succeeded" ? "https://replicate.delivery/x/out.png" : null, error: null });
}

async function refusal(response: Response, reason: string): Promise<void> {
  expect(response.status).toBe(401);
  expect(await response.json()).toEqual({ success: false, error: { code: "unauthorized", message: `Webhook verification failed (${reason}).` } });
}

describe("POST /api/webhooks/replicate with REPLICATE_WEBHOOK_SECRET", () => {
  it("accepts a valid delivery, wakes the waiting run and forwards it once", async () => {
    await freshProcess({ REPLICATE_WEBHOOK_SECRET: stack.replicate.webhookSecret });
    const body = prediction("succeeded", "pred-valid");
    const waiting = runtime().providers.replicate!.waiters.wait("pred-valid", new AbortController().signal, 5000);
    const response = await deliver({ body });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ success: true, outcome: "processed" });
    expect(await waiting).toMatchObject({ id: "pred-valid", status: "succeeded" });
    expect(forwarded).toEqual([{ prediction_id: "pred-valid", status: "succeeded" }]);
  });

  it("refuses a tampered body, a wrong secret, a stale or future timestamp and missing headers with 401", async () => {
    await freshProcess({ REPLICATE_WEBHOOK_SECRET: stack.replicate.webhookSecret });
    const body = prediction("succeeded");
    await refusal(await deliver({ body: body.replace("succeeded", "failed"), signedBody: body }), "invalid_signature");
    await refusal(await deliver({ body, secret: `whsec_${randomBytes(24).toString("base64")}` }), "invalid_signature");
    const now = Math.floor(Date.now() / 1000);
    await refusal(await deliver({ body, timestamp: now - 6 * 60 }), "timestamp_too_old");
    await refusal(await deliver({ body, timestamp: now + 6 * 60 }), "timestamp_too_new");
    const unsigned = await POST(new Request("http://localhost:3999/api/webhooks/replicate", { method: "POST", body }));
    await refusal(unsigned, "missing_headers");
    expect(forwarded).toEqual([]);
    expect(await runtime().prisma.webhookDelivery.count()).toBe(0);
  });

  it("processes a webhook-id once: a redelivery answers 200 'duplicate' and does nothing", async () => {
    await freshProcess({ REPLICATE_WEBHOOK_SECRET: stack.replicate.webhookSecret });
    const body = prediction("succeeded");
    const first = await deliver({ body, id: "msg_same" });
    // Replicate's retry: same id, new timestamp, signed again.
    const again = await deliver({ body, id: "msg_same", timestamp: Math.floor(Date.now() / 1000) + 1 });
    expect(await first.json()).toMatchObject({ outcome: "processed" });
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ success: true, outcome: "duplicate" });
    expect(forwarded).toHaveLength(1);
    expect(await runtime().prisma.webhookDelivery.findMany()).toEqual([expect.objectContaining({ id: "msg_same", source: "replicate" })]);
  });

  it("ignores events that are not completions, and lets Replicate retry when forwarding fails", async () => {
    await freshProcess({ REPLICATE_WEBHOOK_SECRET: stack.replicate.webhookSecret });
    expect(await (await deliver({ body: prediction("processing") })).json()).toEqual({ success: true, outcome: "ignored" });
    expect(forwarded).toEqual([]);

    let fail = true;
    forward = async (event) => {
      if (fail) throw new Error("event bus down");
      forwarded.push(event);
    };
    const body = prediction("failed");
    const failed = await deliver({ body, id: "msg_retry" });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ success: false, error: { code: "internal_error" } });
    fail = false;
    expect(await (await deliver({ body, id: "msg_retry" })).json()).toMatchObject({ outcome: "processed" });
    expect(forwarded).toHaveLength(1);
  });
});

describe("POST /api/webhooks/replicate with the secret from GET /v1/webhooks/default/secret", () => {
  it("fetches the secret once, accepts valid deliveries and refuses others", async () => {
    await freshProcess();
    const secretFetches = () => stack.replicate.requests.filter((request) => request.path === "/v1/webhooks/default/secret").length;
    const before = secretFetches();
    expect((await deliver({ body: prediction("succeeded") })).status).toBe(200);
    expect((await deliver({ body: prediction("succeeded") })).status).toBe(200);
    expect(secretFetches() - before).toBe(1);

    // A bad signature fetches the secret again once (it may have been rotated), then refuses.
    await refusal(await deliver({ body: prediction("succeeded"), secret: `whsec_${randomBytes(24).toString("base64")}` }), "invalid_signature");
    await refusal(await deliver({ body: prediction("succeeded"), secret: `whsec_${randomBytes(24).toString("base64")}` }), "invalid_signature");
    expect(secretFetches() - before).toBe(2);
  });

  it("answers 404 when neither Replicate nor a webhook secret is configured", async () => {
    await freshProcess({ REPLICATE_API_TOKEN: "" });
    const response = await deliver({ body: prediction("succeeded") });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ success: false, error: { code: "not_found" } });
  });
});

describe.each<Provider>(["sqlite", "postgresql"])("a run completed by webhooks (%s)", (provider) => {
  it("finishes each step on the signed webhook, without polling, and a late delivery changes nothing", async () => {
    await freshProcess({ APP_URL: receiverOrigin, REPLICATE_WEBHOOKS: "on" }, provider);
    stack.replicate.completeAfter = { ms: 30 };
    const before = stack.replicate.predictions.size;
    const deliveriesBefore = stack.replicate.webhookDeliveries.length;
    const jobId = await startImageToVideo(await createUser(), stack.photo);
    const job = await waitForJob(jobId, "completed");

    const created = predictionsSince(stack.replicate, before);
    expect(created).toHaveLength(2);
    for (const prediction of created) {
      expect(prediction.webhook).toBe(`${receiverOrigin}/api/webhooks/replicate`);
      expect(prediction.webhook_events_filter).toEqual(["completed"]);
      expect(stack.replicate.requests.filter((request) => request.path === `/v1/predictions/${prediction.id}`)).toEqual([]);
    }
    const deliveries = stack.replicate.webhookDeliveries.slice(deliveriesBefore);
    expect(deliveries.map((delivery) => [delivery.event, delivery.status])).toEqual([
      ["completed", 200],
      ["completed", 200],
    ]);
    expect(await runtime().prisma.webhookDelivery.count()).toBe(2);
    expect(forwarded.map((event) => event.status)).toEqual(["succeeded", "succeeded"]);

    // Replicate retrying a delivery that was already processed (same webhook-id): a duplicate.
    const replayed = deliveries[0]!;
    const replay = await deliver({ body: replayed.body, id: replayed.webhookId });
    expect(await replay.json()).toEqual({ success: true, outcome: "duplicate" });

    // An out-of-order delivery claiming the image prediction failed, and one for an unknown
    // prediction: both verified and acknowledged, neither moves the job.
    const late = await deliver({ body: prediction("failed", created[0]!.id) });
    const unknown = await deliver({ body: prediction("canceled") });
    expect([late.status, unknown.status]).toEqual([200, 200]);
    const after = await waitForJob(jobId, "completed");
    expect(after.result).toEqual(job.result);
    expect(after.layout).toEqual(job.layout);
    expect(after.events.length).toBe(job.events.length);
  });
});
