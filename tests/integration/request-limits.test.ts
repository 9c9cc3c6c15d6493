import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BODY_LIMITS } from "@/lib/api/body";
import { PEER_ADDRESS_HEADER } from "@/lib/api/client-address";
import { runtime } from "@/lib/server/runtime";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { BASE, createUserWithToken, executeRequest, FIXTURE_JPEG, jpegBlob } from "../helpers/api";

/**
 * Issue 12 through the real route handlers, on SQLite and on PostgreSQL: body limits (exactly the
 * maximum accepted), sign-up limits per address and per email, and a sign-up for a taken email
 * that costs no hashing.
 */
describe.each<Provider>(["sqlite", "postgresql"])("request limits on %s", (provider) => {
  let database: TestDatabase;
  let routes: { signup: typeof import("@/app/api/signup/route"); execute: typeof import("@/app/workflows/execute/route"); webhook: typeof import("@/app/api/webhooks/replicate/route") };
  let alice: { token: string };
  const MAX_UPLOAD_BYTES = 150_000;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, {
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: "5",
      RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE: "8",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      LOG_LEVEL: "error",
    });
    routes = {
      signup: await import("@/app/api/signup/route"),
      execute: await import("@/app/workflows/execute/route"),
      webhook: await import("@/app/api/webhooks/replicate/route"),
    };
    alice = await createUserWithToken(`limits-${provider}@example.com`);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  const signUp = (address: string, body: string) =>
    routes.signup.POST(new Request(`${BASE}/api/signup`, { method: "POST", headers: { "content-type": "application/json", [PEER_ADDRESS_HEADER]: address }, body }));
  const account = (email: string, pad = 0) => JSON.stringify({ email, password: "correct horse battery", name: " ".repeat(pad) });

  it("accepts a sign-up body of exactly the limit and refuses one byte more, creating nothing", async () => {
    const exact = account(`exact-${provider}@example.com`);
    const atLimit = account(`exact-${provider}@example.com`, BODY_LIMITS.smallJson - exact.length);
    expect(atLimit.length).toBe(BODY_LIMITS.smallJson);
    expect((await signUp("192.0.2.1", atLimit)).status).toBe(201);
    const over = await signUp("192.0.2.1", account(`overr-${provider}@example.com`, BODY_LIMITS.smallJson - exact.length + 1));
    expect(over.status).toBe(413);
    expect(await runtime().prisma.user.count({ where: { email: `overr-${provider}@example.com` } })).toBe(0);
  });

  it("refuses a sign-up for a taken email before hashing anything (CPU spent, not time)", async () => {
    const before = process.cpuUsage();
    for (let i = 0; i < 6; i++) {
      const answer = await signUp(`192.0.2.${10 + i}`, account(`exact-${provider}@example.com`));
      expect(answer.status).toBe(409);
    }
    const used = process.cpuUsage(before);
    // One bcrypt hash at cost 12 is about a quarter of a second of CPU: six would be 1.5 s.
    expect((used.user + used.system) / 1e6).toBeLessThan(0.5);
  });

  it("limits sign-ups per address and per email with 429 and Retry-After", async () => {
    const fromOne = [];
    for (let i = 0; i < 7; i++) fromOne.push(await signUp("192.0.2.200", account(`address-${provider}-${i}@example.com`, 0).replace("correct horse battery", "x")));
    const statuses = fromOne.map((answer) => answer.status);
    // Short passwords are refused (422) after the limit is checked: the limit still counts them.
    expect(statuses.slice(0, 5)).toEqual([422, 422, 422, 422, 422]);
    expect(statuses.slice(5)).toEqual([429, 429]);
    expect(fromOne[6]!.headers.get("retry-after")).toMatch(/^\d+$/);
    const forOne = [];
    for (let i = 0; i < 9; i++) forOne.push((await signUp(`192.0.2.${100 + i}`, account(`one-email-${provider}@example.com`).replace("correct horse battery", "x"))).status);
    expect(forOne).toEqual([...Array.from({ length: 8 }, () => 422), 429]);
  });

  it("refuses a Replicate webhook body past its limit with 413", async () => {
    const response = await routes.webhook.POST(new Request(`${BASE}/api/webhooks/replicate`, { method: "POST", body: new Uint8Array(BODY_LIMITS.replicateWebhook + 1) }));
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe("payload_too_large");
  });

  it("accepts a file of exactly MAX_UPLOAD_BYTES and stores all of it; one byte more is 413", async () => {
    const exact = Buffer.concat([FIXTURE_JPEG, Buffer.alloc(MAX_UPLOAD_BYTES - FIXTURE_JPEG.length)]);
    const accepted = await routes.execute.POST(executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(exact) }));
    expect(accepted.status).toBe(202);
    const jobId = ((await accepted.json()) as { job_id: string }).job_id;
    const upload = await runtime().prisma.upload.findUniqueOrThrow({ where: { jobId_field: { jobId, field: "" } } });
    expect(Buffer.from(upload.data).equals(exact)).toBe(true);
    const refused = await routes.execute.POST(executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(Buffer.concat([exact, Buffer.alloc(1)])) }));
    expect(refused.status).toBe(413);
  });
});
