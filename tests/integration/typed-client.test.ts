/**
 * The typed client (lib/client/montage-client.ts) against the built server (`npm start`'s
 * scripts/server.mjs, local providers, SQLite): execute with a file, follow the stream through a
 * proxy that closes the first connection after one event (the client reconnects with Last-Event-ID
 * and gets every event exactly once), read the execution, download the video, replay an
 * idempotent execute, and verify the run's webhook delivery (cross-checked with the
 * standardwebhooks library). Needs `npm run build` first.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMontageClient, MontageApiError, verifyWebhook, type StreamEvent } from "@/lib/client/montage-client";
import { createUserWithToken, FIXTURE_JPEG } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import { startServer, type RunningServer } from "@/tests/helpers/server";

let database: TestDatabase;
let server: RunningServer;
let token: string;
let proxy: StreamCuttingProxy;
const hooks: { headers: Record<string, string>; body: string }[] = [];
let hookServer: http.Server;
let hookUrl: string;

/** Forwards everything to the server; the first stream response is cut after its first event. */
class StreamCuttingProxy {
  readonly streamRequests: { lastEventId: string | undefined }[] = [];
  private server: http.Server | undefined;
  url = "";

  /** The server it forwards to (set once the server is up: the server's APP_URL is this proxy's URL). */
  target = "";

  async start(): Promise<void> {
    this.server = http.createServer((request, response) => {
      const isStream = /^\/jobs\/[^/]+\/stream$/.test(new URL(request.url ?? "/", "http://x").pathname);
      if (isStream) this.streamRequests.push({ lastEventId: request.headers["last-event-id"] as string | undefined });
      const cutAfterFirstEvent = isStream && this.streamRequests.length === 1;
      const upstream = http.request(`${this.target}${request.url}`, { method: request.method, headers: { ...request.headers, host: new URL(this.target).host } }, (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        let seen = "";
        answer.on("data", (chunk: Buffer) => {
          if (!cutAfterFirstEvent) return void response.write(chunk);
          seen += chunk.toString("utf8");
          // The end of the first event (the stream opens with a `retry:` and a comment, which are not events).
          const first = /(^|\n\n)id: \d+\n[^]*?\n\n/.exec(seen);
          if (!first) return;
          const end = first.index + first[0].length - 2;
          // Send the first event whole, then close the connection before the job has ended, as a
          // proxy's idle timeout or the server dropping a slow reader does.
          answer.destroy();
          response.end(seen.slice(0, end + 2));
        });
        answer.on("end", () => response.end());
      });
      upstream.on("error", () => response.destroy());
      request.pipe(upstream);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

beforeAll(async () => {
  database = await createTestDatabase("sqlite");
  await useTestEnvironment(database);
  ({ token } = await createUserWithToken("typed-client@example.com"));
  hookServer = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => {
      hooks.push({ headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString("utf8") });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => hookServer.listen(0, "127.0.0.1", resolve));
  hookUrl = `http://127.0.0.1:${(hookServer.address() as AddressInfo).port}/hooks`;
  proxy = new StreamCuttingProxy();
  await proxy.start();
  // Clients reach the server through the proxy, so that is its public URL (results' file URLs).
  // OUTPUT_FETCH_ALLOW_INSECURE lets webhooks reach the loopback receiver (tests only).
  server = await startServer({ DATABASE_URL: database.url, DATA_DIR: database.dataDir, OUTPUT_FETCH_ALLOW_INSECURE: "1", APP_URL: proxy.url });
  proxy.target = server.url;
});

afterAll(async () => {
  await proxy?.stop();
  await server?.stop();
  hookServer?.closeAllConnections();
  await new Promise<void>((resolve) => (hookServer ? hookServer.close(() => resolve()) : resolve()));
  await closeTestEnvironment();
  await database?.drop();
});

describe("the typed client against the built server", () => {
  it("runs Image Edit to Video: execute with a file, the stream across a dropped connection, the details, the video, the webhook", async () => {
    const montage = createMontageClient({ baseUrl: proxy.url, token, reconnectDelayMs: 20 });
    const workflows = await montage.listWorkflows();
    expect(workflows.workflows.map((workflow) => workflow.id)).toContain("img-edit-to-video");

    const started = await montage.execute({
      workflowId: "img-edit-to-video",
      file: new Uint8Array(FIXTURE_JPEG),
      filename: "photo.jpg",
      inputs: { edit_prompt: "Make it golden hour" },
      webhookUrl: hookUrl,
      webhookEvents: ["complete"],
      deadlineSeconds: 600,
    });
    expect(started).toMatchObject({ success: true, stream_url: `/jobs/${started.job_id}/stream`, replayed: false });

    const events: StreamEvent[] = [];
    for await (const event of montage.events(started.job_id)) events.push(event);
    // The first connection was closed after one event; the client came back from that event's id.
    expect(proxy.streamRequests.length).toBeGreaterThanOrEqual(2);
    expect(proxy.streamRequests[0]!.lastEventId).toBeUndefined();
    expect(proxy.streamRequests[1]!.lastEventId).toBe(String(events[0]!.id));
    const ids = events.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(events.at(-1)).toMatchObject({ event: "complete", data: { result: { video_url: expect.any(String) } } });

    const details = await montage.execution(started.job_id);
    expect(details.job).toMatchObject({ id: started.job_id, status: "completed", deadline_at: expect.any(String) });
    expect(Object.values(details.checkpoints).map((checkpoint) => checkpoint.status)).toEqual(["completed", "completed", "completed"]);
    const video = await montage.download((details.job.result as { video_url: string }).video_url);
    expect(Buffer.from(video.subarray(4, 8)).toString("latin1")).toBe("ftyp");

    // The `complete` delivery, verified by the client and by the standardwebhooks library.
    const secret = ((await (await fetch(`${server.url}/api/webhook-secret`, { headers: { authorization: `Bearer ${token}` } })).json()) as { secret: string }).secret;
    for (let waited = 0; hooks.length === 0 && waited < 200; waited++) await new Promise((resolve) => setTimeout(resolve, 50));
    const delivery = hooks[0]!;
    const event = await verifyWebhook(secret, delivery.headers, delivery.body);
    expect(event).toMatchObject({ type: "complete", data: { job_id: started.job_id, event_id: events.at(-1)!.id } });
    expect(() => new Webhook(secret).verify(delivery.body, delivery.headers)).not.toThrow();
    await expect(verifyWebhook(secret, delivery.headers, delivery.body.replace("complete", "error"))).rejects.toThrow(/No webhook-signature matches/);
    await expect(verifyWebhook(`whsec_${Buffer.from("another key of 24 bytes!").toString("base64")}`, delivery.headers, delivery.body)).rejects.toThrow(/No webhook-signature matches/);
    await expect(verifyWebhook(secret, delivery.headers, delivery.body, { now: new Date(Date.now() + 3600_000) })).rejects.toThrow(/too far from now/);
  });

  it("replays an idempotent execute and reports errors in the API's shape", async () => {
    const montage = createMontageClient({ baseUrl: server.url, token });
    const request = { workflowId: "img-edit-to-video", file: new Blob([new Uint8Array(FIXTURE_JPEG)], { type: "image/jpeg" }), filename: "photo.jpg", idempotencyKey: `key-${Date.now()}` };
    const first = await montage.execute(request);
    const again = await montage.execute(request);
    expect(again).toMatchObject({ job_id: first.job_id, replayed: true });
    await montage.waitForResult(first.job_id);

    const refused = await montage.execute({ workflowId: "img-edit-to-video", file: new Uint8Array(FIXTURE_JPEG), deadlineSeconds: 0 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(MontageApiError);
    expect(refused).toMatchObject({ status: 400, code: "invalid_form" });
    const stranger = createMontageClient({ baseUrl: server.url, token: "mtg_not_a_token" });
    await expect(stranger.execution(first.job_id)).rejects.toMatchObject({ status: 401, code: "unauthorized" });
  });
});
