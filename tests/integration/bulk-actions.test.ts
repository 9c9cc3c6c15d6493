import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runtime } from "@/lib/server/runtime";
import { authed, createUserWithToken } from "../helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";

/**
 * POST /jobs/cancel and /jobs/retry through the real routes on a real database: a filter over the
 * caller's own jobs, batches of 100, counts in the answer, bad input refused before anything moves.
 * Jobs are inserted as queued without being handed to the runner, so they stay where the test puts them.
 */
describe.each<Provider>(["sqlite", "postgresql"])("bulk actions on %s", (provider) => {
  let database: TestDatabase;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    alice = await createUserWithToken(`bulk-alice-${provider}@example.com`);
    bob = await createUserWithToken(`bulk-bob-${provider}@example.com`);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  async function queuedJobs(userId: string, count: number, workflowId = "wf-bulk"): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      ids.push(
        await runtime().store.insertJob({
          userId,
          workflow: { id: workflowId, version: "v1", config: { id: workflowId, steps: [{ name: "s0" }] } },
          inputs: {},
          maxAttempts: 3,
          firstEvent: { type: "progress", data: { step: 0, step_name: "s0", progress: 0, step_progress: 0, message: "Queued" } },
        }),
      );
    }
    return ids;
  }

  async function post(action: "cancel" | "retry", token: string, body: unknown) {
    const route = await import(`@/app/jobs/${action}/route`);
    const response = await (route as { POST: (request: Request) => Promise<Response> }).POST(
      authed(token, `/jobs/${action}`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof body === "string" ? body : JSON.stringify(body) }),
    );
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  const statusOf = async (ids: string[]) => Promise.all(ids.map(async (id) => (await runtime().store.getJob(id))!.status));

  it("cancels every matching job of the caller, in batches past the first hundred, and none of anyone else's", async () => {
    const mine = await queuedJobs(alice.userId, 105);
    const theirs = await queuedJobs(bob.userId, 2);
    const answer = await post("cancel", alice.token, { status: ["queued"], workflow_id: "wf-bulk" });
    expect(answer).toEqual({ status: 200, body: { success: true, matched: 105, canceled: 105, skipped: 0 } });
    expect(new Set(await statusOf(mine))).toEqual(new Set(["canceled"]));
    expect(await statusOf(theirs)).toEqual(["queued", "queued"]);
    // Bob's own cancel reaches his jobs only; a second pass matches nothing.
    expect((await post("cancel", bob.token, {})).body).toMatchObject({ matched: 2, canceled: 2 });
    expect((await post("cancel", alice.token, {})).body).toMatchObject({ matched: 0, canceled: 0 });
  });

  it("selects by workflow, creation time and ids", async () => {
    const before = new Date(Date.now() - 1000).toISOString();
    const other = await queuedJobs(alice.userId, 2, "wf-other");
    const picked = await queuedJobs(alice.userId, 3);
    expect((await post("cancel", alice.token, { workflow_id: "wf-none" })).body).toMatchObject({ matched: 0 });
    expect((await post("cancel", alice.token, { created_before: before })).body).toMatchObject({ matched: 0 });
    expect((await post("cancel", alice.token, { job_ids: [picked[0], other[0]], created_after: before })).body).toMatchObject({ matched: 2, canceled: 2 });
    expect(await statusOf([...picked, ...other])).toEqual(["canceled", "queued", "queued", "canceled", "queued"]);
    expect((await post("cancel", alice.token, { workflow_id: "wf-other" })).body).toMatchObject({ matched: 1, canceled: 1 });
  });

  it("retries the caller's canceled jobs matching the filter, and counts them", async () => {
    const jobs = await queuedJobs(alice.userId, 3, "wf-retry");
    await post("cancel", alice.token, { workflow_id: "wf-retry" });
    const answer = await post("retry", alice.token, { status: ["canceled"], workflow_id: "wf-retry" });
    expect(answer).toEqual({ status: 200, body: { success: true, matched: 3, retried: 3, skipped: 0 } });
    expect((await statusOf(jobs)).every((status) => status !== "canceled")).toBe(true);
    expect((await post("retry", bob.token, { workflow_id: "wf-retry" })).body).toMatchObject({ matched: 0 });
  });

  it("refuses a bad filter with 400 and changes nothing", async () => {
    const jobs = await queuedJobs(alice.userId, 2, "wf-bad");
    for (const body of [
      "not json",
      [],
      { status: ["bogus"] },
      { status: ["completed"] },
      { created_after: "yesterday" },
      { job_ids: ["not-a-uuid"] },
      { workflow: "wf-bad" },
      { job_ids: [] },
    ]) {
      const answer = await post("cancel", alice.token, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body).toMatchObject({ success: false, error: { code: expect.stringMatching(/^invalid_(json|request)$/) } });
    }
    expect(await statusOf(jobs)).toEqual(["queued", "queued"]);
    const anonymous = await (await import("@/app/jobs/cancel/route")).POST(new Request("http://localhost:3999/jobs/cancel", { method: "POST", body: "{}" }));
    expect(anonymous.status).toBe(401);
  });
});
