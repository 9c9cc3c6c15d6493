import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConcurrencySlots, TokenBuckets } from "@/lib/api/rate-limit";
import type { Db } from "@/lib/db/client";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";
import { answerOf, isErrorShape } from "./http";
import { postExecute, rowCounts, waitFor } from "./support";
import { runtime } from "@/lib/server/runtime";

describe("rate limit primitives", () => {
  it("a token bucket allows its capacity at once, then one per period/capacity, per key", () => {
    let now = 0;
    const buckets = new TokenBuckets(3, 60_000, { now: () => now });
    expect([1, 2, 3].map(() => buckets.take("alice").allowed)).toEqual([true, true, true]);
    expect(buckets.take("alice")).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(buckets.take("bob").allowed).toBe(true);
    now += 19_000;
    expect(buckets.take("alice")).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 1_000;
    expect(buckets.take("alice").allowed).toBe(true);
    expect(buckets.take("alice").allowed).toBe(false);
    now += 10 * 60_000; // refills to capacity, never beyond
    expect([1, 2, 3, 4].map(() => buckets.take("alice").allowed)).toEqual([true, true, true, false]);
  });

  it("concurrency slots count per key, and a release is idempotent", () => {
    const slots = new ConcurrencySlots(2);
    const first = slots.acquire("alice")!;
    const second = slots.acquire("alice")!;
    expect(slots.acquire("alice")).toBeUndefined();
    expect(slots.acquire("bob")).toBeDefined();
    first();
    first();
    expect(slots.count("alice")).toBe(1);
    expect(slots.acquire("alice")).toBeDefined();
    second();
    expect(slots.count("alice")).toBe(1);
  });
});

/**
 * The limits in the real server, configured low: RATE_LIMIT_EXECUTES_PER_MINUTE=3 and
 * RATE_LIMIT_CONCURRENT_STREAMS=2. Jobs park at step 1 (a quota fault, retried in 300 s), so their
 * streams stay open as long as the test wants.
 */
describe("rate limits in the real server", () => {
  let database: TestDatabase;
  let db: () => Db;
  let server: RunningServer;
  let alice: { token: string };
  let bob: { token: string };
  const aliceJobs: string[] = [];
  const open: AbortController[] = [];

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    db = () => runtime().prisma;
    alice = await createUserWithToken("limits-alice@example.com");
    bob = await createUserWithToken("limits-bob@example.com");
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      LOCAL_PROVIDER_FAULTS: "image_edit:quota:1000",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      RATE_LIMIT_EXECUTES_PER_MINUTE: "3",
      RATE_LIMIT_CONCURRENT_STREAMS: "2",
    });
  });

  afterAll(async () => {
    for (const controller of open) controller.abort();
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
  });

  it("answers the 4th execute in a minute with 429, Retry-After and the error shape, storing nothing; other users are not affected", async () => {
    for (let i = 0; i < 3; i++) {
      const response = await postExecute(server.url, alice.token);
      expect(response.status).toBe(202);
      aliceJobs.push(((await response.json()) as { job_id: string }).job_id);
    }
    const rows = await rowCounts(db());
    const refused = await answerOf(await postExecute(server.url, alice.token));
    expect(refused.status).toBe(429);
    expect(isErrorShape(refused)).toBe(true);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: "rate_limited" } });
    const retryAfter = Number(refused.headers["retry-after"]);
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 20).toBe(true);
    expect((await rowCounts(db())).jobs).toBe(rows.jobs);
    expect((await rowCounts(db())).uploads).toBe(rows.uploads);
    expect((await postExecute(server.url, bob.token)).status).toBe(202);
  });

  /** Opens a stream and waits for its first bytes (the server has accepted it). */
  async function openStream(token: string, jobId: string) {
    const controller = new AbortController();
    const response = await fetch(`${server.url}/jobs/${jobId}/stream`, { headers: { authorization: `Bearer ${token}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    if (response.status === 200) {
      open.push(controller);
      await reader.read();
    } else {
      await reader.cancel();
    }
    /** Reads the stream to its end (it ends by itself when the job ends). */
    const drain = async () => {
      while (!(await reader.read()).done);
    };
    return { status: response.status, controller, drain };
  }

  it("allows 2 concurrent streams per user, answers the 3rd with 429, and frees a slot when a client leaves or a stream ends", async () => {
    const [job1, job2] = aliceJobs as [string, string];
    await waitFor("the jobs parked", async () => (await db().job.count({ where: { id: { in: aliceJobs }, status: "pending_retry" } })) === 3, 30_000);
    const a = await openStream(alice.token, job1);
    const b = await openStream(alice.token, job1);
    expect([a.status, b.status]).toEqual([200, 200]);

    const third = await answerOf(await fetch(`${server.url}/jobs/${job2}/stream`, { headers: { authorization: `Bearer ${alice.token}` } }));
    expect(third.status).toBe(429);
    expect(isErrorShape(third)).toBe(true);
    expect(Number(third.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    // Another user's streams are counted apart (bob has no job here, so his request reaches the 404).
    expect((await fetch(`${server.url}/jobs/${job2}/stream`, { headers: { authorization: `Bearer ${bob.token}` } })).status).toBe(404);

    // The client of stream A goes away: its slot comes back.
    a.controller.abort();
    const c = await waitFor("a slot after a client left", async () => {
      const attempt = await openStream(alice.token, job2);
      return attempt.status === 200 ? attempt : undefined;
    }, 15_000, 100);
    expect(c.status).toBe(200);

    // Canceling job 1 ends stream B by itself: its slot comes back too.
    expect((await fetch(`${server.url}/workflows/cancel/${job1}`, { method: "POST", headers: { authorization: `Bearer ${alice.token}` } })).status).toBe(200);
    await b.drain();
    const d = await waitFor("a slot after a stream ended", async () => {
      const attempt = await openStream(alice.token, job2);
      return attempt.status === 200 ? attempt : undefined;
    }, 15_000, 100);
    expect(d.status).toBe(200);
    expect((await answerOf(await fetch(`${server.url}/jobs/${job2}/stream`, { headers: { authorization: `Bearer ${alice.token}` } }))).status).toBe(429);
  });
});
