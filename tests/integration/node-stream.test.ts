import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApiToken } from "@/lib/auth/tokens";
import type { Runtime } from "@/lib/server/runtime";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { insertTestJob, testWorkflow } from "../helpers/engine";

/**
 * GET /jobs/<id>/stream on plain Node HTTP (lib/server/node-stream.ts), as the custom server in
 * front of Next.js serves it (scripts/server.mjs): the same answers as the route handler, in the
 * same order. Authorization per connection, 404 for another user's or a malformed job id, 400
 * for a bad Last-Event-ID, 429 over the per-user stream limit, then SSE from after Last-Event-ID.
 */
describe.each<Provider>(["sqlite", "postgresql"])("the stream on Node HTTP, %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let server: http.Server;
  let base: string;
  const alice = { id: "", token: "" };
  const bob = { id: "", token: "" };

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    rt = await useTestEnvironment(database, { RATE_LIMIT_CONCURRENT_STREAMS: "1" });
    for (const [who, user] of [["alice", alice], ["bob", bob]] as const) {
      user.id = (await rt.prisma.user.create({ data: { email: `${who}-node-stream-${provider}@example.com` } })).id;
      user.token = (await createApiToken(rt.store, user.id, "test")).token;
    }
    server = http.createServer((request, response) => {
      if (!rt.serveNodeRoute(request, response)) response.writeHead(418).end("not a stream");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await closeTestEnvironment();
    await database.drop();
  });

  const workflow = testWorkflow("streamed", { upload: async () => ({}) });

  async function addEvent(jobId: string, n: number): Promise<void> {
    if (provider === "postgresql") await rt.prisma.$executeRawUnsafe(`INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', $2::jsonb)`, jobId, JSON.stringify({ n }));
    else await rt.prisma.$executeRawUnsafe(`INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', ?, ?)`, jobId, JSON.stringify({ n }), new Date().toISOString());
    rt.notifier.notify(jobId);
  }

  /** Opens a stream and collects what it sends until closed. */
  async function open(path: string, headers: Record<string, string>) {
    const abort = new AbortController();
    const response = await fetch(`${base}${path}`, { headers, signal: abort.signal });
    let text = "";
    const reading = (async () => {
      if (!response.body) return;
      const decoder = new TextDecoder();
      const reader = response.body.getReader();
      try {
        for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value);
      } catch {
        // closed by the test
      }
    })();
    return {
      response,
      text: () => text,
      ids: () => [...text.matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])),
      async close() {
        abort.abort();
        await reading;
      },
    };
  }

  it("answers the route handler's errors in the one error shape", async () => {
    const jobId = await insertTestJob(rt.store, workflow, alice.id);
    const noToken = await fetch(`${base}/jobs/${jobId}/stream`);
    expect(noToken.status).toBe(401);
    expect(await noToken.json()).toEqual({ success: false, error: { code: "unauthorized", message: expect.any(String) } });
    const others = await fetch(`${base}/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${bob.token}` } });
    expect(others.status).toBe(404);
    expect(((await others.json()) as { error: { code: string } }).error.code).toBe("not_found");
    const malformed = await fetch(`${base}/jobs/not%20a%20job/stream`, { headers: { authorization: `Bearer ${alice.token}` } });
    expect(malformed.status).toBe(404);
    const badReplay = await fetch(`${base}/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${alice.token}`, "last-event-id": "9".repeat(40) } });
    expect(badReplay.status).toBe(400);
    expect(((await badReplay.json()) as { error: { code: string } }).error.code).toBe("invalid_request");
    // Anything else is left to Next.js.
    expect((await fetch(`${base}/jobs/${jobId}`)).status).toBe(418);
  });

  it("streams from after Last-Event-ID, and holds the user to their stream limit while it is open", async () => {
    const jobId = await insertTestJob(rt.store, workflow, alice.id);
    await addEvent(jobId, 1);
    const auth = { authorization: `Bearer ${alice.token}` };
    const first = await open(`/jobs/${jobId}/stream`, auth);
    expect(first.response.status).toBe(200);
    expect(first.response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(first.response.headers.get("cache-control")).toBe("no-cache, no-transform");
    await vi.waitFor(() => expect(first.ids()).toHaveLength(2));
    expect(first.text()).toMatch(/^retry: 2000\n: connected to job /);

    const refused = await fetch(`${base}/jobs/${jobId}/stream`, { headers: auth });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    await first.close();

    // The slot comes back when the first stream closes; the replay starts after the id given.
    await vi.waitFor(() => expect(rt.streams.hub.watcherCount()).toBe(0));
    const again = await open(`/jobs/${jobId}/stream?last_event_id=${first.ids()[0]}`, auth);
    expect(again.response.status).toBe(200);
    await vi.waitFor(() => expect(again.ids()).toEqual([first.ids()[1]]));
    await addEvent(jobId, 2);
    await vi.waitFor(() => expect(again.ids()).toHaveLength(2));
    expect(again.text()).toMatch(/"n": ?1[^\n]*\n\n[\s\S]*"n": ?2/);
    await again.close();
  });
});
