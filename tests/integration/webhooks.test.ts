import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runtime } from "@/lib/server/runtime";
import { authed, BASE, createUserWithToken, executeRequest, jobParams, jpegBlob, waitForJobStatus } from "../helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { WebhookReceiver } from "../helpers/webhook-receiver";

/**
 * Outgoing webhooks through the real routes, the in-process runner and the dispatcher, on a real
 * database, to a local receiver that checks every signature with the standardwebhooks library.
 */
describe.each<Provider>(["sqlite", "postgresql"])("outgoing webhooks on %s", (provider) => {
  let database: TestDatabase;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };
  const receiver = new WebhookReceiver();
  const FAST = { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300", WEBHOOK_RETRY_BASE_SECONDS: "0.2", WEBHOOK_RETRY_MAX_SECONDS: "0.4" };
  const INSECURE = { ...FAST, OUTPUT_FETCH_ALLOW_INSECURE: "true" };

  async function startRuntime(env: Record<string, string>) {
    const rt = await useTestEnvironment(database, env);
    await rt.start();
    return rt;
  }

  const routes = async () => ({
    execute: await import("@/app/workflows/execute/route"),
    webhooks: await import("@/app/jobs/[jobId]/webhooks/route"),
    secret: await import("@/app/api/webhook-secret/route"),
  });

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await startRuntime(INSECURE);
    alice = await createUserWithToken(`hooks-alice-${provider}@example.com`);
    bob = await createUserWithToken(`hooks-bob-${provider}@example.com`);
    await receiver.start();
  });

  afterEach(() => {
    receiver.received.length = 0;
    receiver.script = [];
  });

  afterAll(async () => {
    await receiver.stop();
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(token: string, fields: Record<string, string>) {
    const r = await routes();
    const response = await r.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), edit_prompt: "sepia", ...fields }));
    return { status: response.status, body: (await response.json()) as { job_id?: string; error?: { code: string; message: string } } };
  }

  async function secretOf(token: string) {
    const r = await routes();
    return ((await (await r.secret.GET(authed(token, "/api/webhook-secret"))).json()) as { success: boolean; secret: string }).secret;
  }

  async function deliveries(token: string, jobId: string) {
    const r = await routes();
    const response = await r.webhooks.GET(authed(token, `/jobs/${jobId}/webhooks`), jobParams(jobId));
    return { status: response.status, body: (await response.json()) as { webhook: { url: string; events: string[] } | null; deliveries: { id: string; event_id: number; event: string; status: string; attempts: number; last_error: string | null; tries: { status_code: number | null; error: string | null }[] }[] } };
  }

  async function waitForDeliveries(jobId: string, done: (statuses: string[]) => boolean, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const webhooks = await runtime().store.readJobWebhooks(jobId);
      const statuses = webhooks?.messages.map((message) => message.status) ?? [];
      if (statuses.length > 0 && done(statuses)) return webhooks!;
      if (Date.now() > deadline) throw new Error(`deliveries of ${jobId}: ${statuses.join(",")}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const allDelivered = (statuses: string[]) => statuses.every((status) => status === "delivered");

  it("delivers every wanted event once acknowledged, in order, signed, through a dropped connection and a 500", async () => {
    receiver.secret = await secretOf(alice.token);
    receiver.script = ["drop", 500];
    const { status, body } = await execute(alice.token, { webhook_url: receiver.url(), webhook_events: "checkpoint,complete,error" });
    expect(status).toBe(202);
    const jobId = body.job_id!;
    await waitForJobStatus(jobId, ["completed"]);
    const stored = await waitForDeliveries(jobId, allDelivered);

    const events = (await runtime().store.readEvents(jobId, 0, 1000)).filter((event) => ["checkpoint", "complete"].includes(event.type));
    expect(stored.messages.map((message) => message.id)).toEqual(events.map((event) => `msg_${event.id}`));
    // Every event arrived, in order; the repeats are the unacknowledged ones, with the same id.
    expect(receiver.firstArrivals()).toEqual(events.map((event) => `msg_${event.id}`));
    expect(receiver.received.every((delivery) => delivery.verified)).toBe(true);
    expect(receiver.received.slice(0, 3).map((delivery) => [delivery.id, delivery.answered])).toEqual([
      [`msg_${events[0]!.id}`, "drop"],
      [`msg_${events[0]!.id}`, 500],
      [`msg_${events[0]!.id}`, 200],
    ]);
    const last = receiver.received.at(-1)!;
    expect(last.body).toMatchObject({ type: "complete", data: { job_id: jobId, event_id: events.at(-1)!.id, result: { video_url: expect.any(String) } } });

    const shown = await deliveries(alice.token, jobId);
    expect(shown.status).toBe(200);
    expect(shown.body.webhook).toEqual({ url: receiver.url(), events: ["checkpoint", "complete", "error"] });
    expect(shown.body.deliveries[0]).toMatchObject({ status: "delivered", attempts: 3, tries: [{ status_code: null, error: expect.any(String) }, { status_code: 500 }, { status_code: 200, error: null }] });
    // Another user's job is not found, like a missing one.
    expect((await deliveries(bob.token, jobId)).status).toBe(404);
  });

  it("keeps undelivered messages across a restart while the receiver is down, and delivers them after", async () => {
    receiver.secret = await secretOf(alice.token);
    await receiver.stop();
    const { body } = await execute(alice.token, { webhook_url: receiver.url() });
    const jobId = body.job_id!;
    await waitForJobStatus(jobId, ["completed"]);
    // The receiver refused the connection at least once: the message is pending, its failure recorded.
    let pending = await runtime().store.readJobWebhooks(jobId);
    for (const deadline = Date.now() + 20_000; (pending?.messages[0]?.attempts ?? 0) < 1 && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      pending = await runtime().store.readJobWebhooks(jobId);
    }
    expect(pending!.messages.map((message) => [message.eventType, message.status])).toEqual([["complete", "pending"]]);
    expect(pending!.messages[0]!.tries[0]).toMatchObject({ statusCode: null, error: expect.stringContaining("ECONNREFUSED") });
    // The server stops, the receiver comes back, the server starts again: the row is still there and is sent.
    await closeTestEnvironment();
    await receiver.start(receiver.port);
    await startRuntime(INSECURE);
    const delivered = await waitForDeliveries(jobId, allDelivered);
    expect(delivered.messages[0]!.attempts).toBeGreaterThanOrEqual(2);
    expect(receiver.received.map((delivery) => [delivery.id, delivery.verified, delivery.body.type])).toEqual([[delivered.messages[0]!.id, true, "complete"]]);
  });

  it("signs with the rotated secret after a rotation", async () => {
    const before = await secretOf(alice.token);
    const r = await routes();
    const rotated = ((await (await r.secret.POST(authed(alice.token, "/api/webhook-secret", { method: "POST" }))).json()) as { success: boolean; secret: string });
    expect(rotated).toEqual({ success: true, secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/=]{32}$/) });
    expect(rotated.secret).not.toBe(before);
    expect(await secretOf(alice.token)).toBe(rotated.secret);
    receiver.secret = rotated.secret;
    const { body } = await execute(alice.token, { webhook_url: receiver.url() });
    await waitForDeliveries(body.job_id!, allDelivered);
    expect(receiver.received.map((delivery) => delivery.verified)).toEqual([true]);
  });

  it("refuses bad webhook fields with 400 and stores nothing", async () => {
    const count = () => runtime().prisma.job.count();
    const before = await count();
    const bad: Record<string, string>[] = [
      { webhook_url: "ftp://example.com/hook" },
      { webhook_url: "not a url" },
      { webhook_url: "https://user:pass@example.com/hook" },
      { webhook_url: "https://example.com/hook", webhook_events: "complete,bogus" },
      { webhook_url: "https://example.com/hook", webhook_events: "" },
      { webhook_events: "complete" },
      { webhook_url: `https://example.com/${"x".repeat(2100)}` },
    ];
    for (const fields of bad) {
      const answer = await execute(alice.token, fields);
      expect(answer.status, JSON.stringify(fields).slice(0, 80)).toBe(400);
      expect(answer.body.error?.code).toBe("invalid_form");
    }
    expect(await count()).toBe(before);
  });

  it("without the test switch, refuses private and loopback targets: literal ones at execute, names when connecting", async () => {
    await startRuntime(FAST);
    for (const url of [receiver.url(), receiver.url("127.0.0.1", "https"), "https://10.0.0.7/hook", "https://[::1]/hook", "https://169.254.169.254/latest", "https://192.168.1.1/"]) {
      const answer = await execute(alice.token, { webhook_url: url });
      expect(answer.status, url).toBe(400);
    }
    const { status, body } = await execute(alice.token, { webhook_url: receiver.url("localhost", "https") });
    expect(status).toBe(202);
    await waitForJobStatus(body.job_id!, ["completed"]);
    const refused = await waitForDeliveries(body.job_id!, (statuses) => statuses.every((s) => s === "failed"));
    expect(refused.messages[0]).toMatchObject({ status: "failed", attempts: 1, lastError: expect.stringContaining("private address") });
    expect(receiver.received).toEqual([]);
    await startRuntime(INSECURE);
  });

  it("answers GET /api/webhook-secret with the caller's own secret only", async () => {
    const mine = await secretOf(alice.token);
    const theirs = await secretOf(bob.token);
    expect(mine).toMatch(/^whsec_/);
    expect(theirs).not.toBe(mine);
    const r = await routes();
    expect((await r.secret.GET(new Request(`${BASE}/api/webhook-secret`))).status).toBe(401);
  });
});
