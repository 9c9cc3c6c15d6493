import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtime } from "@/lib/server/runtime";
import { authed, createUserWithToken, executeRequest, jobParams, jpegBlob, waitForJobStatus } from "../helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";

/**
 * Idempotency-Key on execute and retry, through the real route handlers on a real database with the
 * in-process runner: replays answer the original answer with the replay header, a reused key with
 * another request is refused, and racing requests with one key start one job.
 */
describe.each<Provider>(["sqlite", "postgresql"])("Idempotency-Key on %s", (provider) => {
  let database: TestDatabase;
  let routes: Awaited<ReturnType<typeof loadRoutes>>;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };

  async function loadRoutes() {
    return {
      execute: await import("@/app/workflows/execute/route"),
      retry: await import("@/app/workflows/retry/[jobId]/route"),
      cancel: await import("@/app/workflows/cancel/[jobId]/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // Eight requests race with one key on purpose: the uploads-in-flight limit (3 by default) is raised to let them.
    await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300", RATE_LIMIT_EXECUTES_PER_MINUTE: "1000", RATE_LIMIT_CONCURRENT_UPLOADS: "8" });
    routes = await loadRoutes();
    alice = await createUserWithToken(`idem-alice-${provider}@example.com`);
    bob = await createUserWithToken(`idem-bob-${provider}@example.com`);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(token: string, key: string | undefined, fields: Record<string, string> = {}) {
    const response = await routes.execute.POST(
      executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), edit_prompt: "sepia", ...fields }, { headers: key === undefined ? {} : { "idempotency-key": key } }),
    );
    return { status: response.status, replayed: response.headers.get("idempotent-replayed"), body: (await response.json()) as Record<string, unknown> };
  }

  const jobCount = () => runtime().prisma.job.count();

  it("answers the same key and request with the original answer, marked as a replay, and starts one job", async () => {
    const before = await jobCount();
    const first = await execute(alice.token, "order-1");
    expect(first).toMatchObject({ status: 202, replayed: null, body: { success: true, job_id: expect.any(String) } });
    const again = await execute(alice.token, "order-1");
    expect(again).toEqual({ status: 202, replayed: "true", body: first.body });
    expect(await jobCount()).toBe(before + 1);
    await waitForJobStatus(first.body.job_id as string, ["completed"]);
    // Still the original answer once the job has run.
    expect(await execute(alice.token, "order-1")).toEqual({ status: 202, replayed: "true", body: first.body });
  });

  it("refuses the same key with a different request (422) and changes nothing", async () => {
    await execute(alice.token, "order-2");
    const before = await jobCount();
    const other = await execute(alice.token, "order-2", { edit_prompt: "something else" });
    expect(other.status).toBe(422);
    expect(other.body).toEqual({ success: false, error: { code: "idempotency_key_reused", message: expect.stringContaining("different request") } });
    expect(await jobCount()).toBe(before);
  });

  it("starts exactly one job for racing requests with one key; all answer its id", async () => {
    const before = await jobCount();
    const answers = await Promise.all(Array.from({ length: 8 }, () => execute(alice.token, "race-1")));
    expect(new Set(answers.map((answer) => answer.status))).toEqual(new Set([202]));
    expect(new Set(answers.map((answer) => answer.body.job_id)).size).toBe(1);
    expect(answers.filter((answer) => answer.replayed === null)).toHaveLength(1);
    expect(await jobCount()).toBe(before + 1);
  });

  it("keeps keys per user, and without a key every request starts a job", async () => {
    const mine = await execute(alice.token, "shared-key");
    const theirs = await execute(bob.token, "shared-key");
    expect(theirs.replayed).toBeNull();
    expect(theirs.body.job_id).not.toBe(mine.body.job_id);
    const before = await jobCount();
    await execute(alice.token, undefined);
    await execute(alice.token, undefined);
    expect(await jobCount()).toBe(before + 2);
  });

  it("answers a malformed key with 400 before storing anything", async () => {
    const before = await jobCount();
    for (const key of ["", "x".repeat(256), "naïve-key", "two words"]) {
      const answer = await execute(alice.token, key);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ success: false, error: { code: "invalid_request" } });
    }
    expect(await jobCount()).toBe(before);
  });

  it("replays a retry with its key instead of answering 409, and frees the key of a refused retry", async () => {
    const { body } = await execute(alice.token, undefined);
    const jobId = body.job_id as string;
    const cancel = await routes.cancel.POST(authed(alice.token, `/workflows/cancel/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(cancel.status).toBe(200);
    const retry = (key: string, token = alice.token) => routes.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST", headers: { "idempotency-key": key } }), jobParams(jobId));

    // Bob's retry of Alice's job is a 404, and his key stays free for another request.
    expect((await retry("retry-1", bob.token)).status).toBe(404);
    const first = await retry("retry-1");
    expect(first.status).toBe(200);
    expect(first.headers.get("idempotent-replayed")).toBeNull();
    const firstBody = await first.json();
    await waitForJobStatus(jobId, ["completed"]);
    const again = await retry("retry-1");
    expect(again.status).toBe(200);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(await again.json()).toEqual(firstBody);
    // Without the key, the same retry is refused: the job is no longer retryable.
    const plain = await routes.retry.POST(authed(alice.token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(plain.status).toBe(409);
    // A retry refused for its state keeps no answer: the key is free for the same request later.
    expect((await retry("retry-2")).status).toBe(409);
    expect((await runtime().prisma.$queryRawUnsafe<unknown[]>(`SELECT key FROM idempotency_keys WHERE key = 'retry-2'`)).length).toBe(0);
    // The retry's key used on execute is another request: 422.
    expect((await execute(alice.token, "retry-1")).status).toBe(422);
  });
});
