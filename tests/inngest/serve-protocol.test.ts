/**
 * The real /api/inngest route handlers in cloud mode, called the way the Inngest executor calls
 * them. Wire format, from inngest 4.24 (components/InngestCommHandler.ts, helpers/net.ts):
 * `X-Inngest-Signature: t=<unix seconds>&s=<hex>`, where s = HMAC-SHA256, keyed by the signing key
 * without its `signkey-<env>-` prefix, over the request body followed by t. The SDK parses a JSON
 * body and signs its canonical JSON (RFC 8785: sorted keys, no spaces), which is what the executor
 * sends; a GET is signed over the empty string. Signatures older or newer than 5 minutes are
 * refused; INNGEST_SIGNING_KEY_FALLBACK is tried when the key does not match (key rotation).
 */
import { createHmac, randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "@/lib/log";
import type { Runtime } from "@/lib/server/runtime";
import { readJob } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import { insertTestJob } from "@/tests/helpers/engine";

const SIGNING_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;
const FALLBACK_KEY = `signkey-test-${randomBytes(32).toString("hex")}`;
const ORIGIN = "http://localhost:3000";

type Handler = (request: Request) => Promise<Response>;
let route: { GET: Handler; POST: Handler; PUT: Handler };
let testDb: TestDatabase;
let rt: Runtime;
/** The runtime's log lines (errors only), as JSON. */
const logLines: Record<string, unknown>[] = [];

beforeAll(async () => {
  testDb = await createTestDatabase("sqlite");
  const logger = createLogger({
    level: "error",
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(...chunk.toString().split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>));
        done();
      },
    }),
  });
  rt = await useTestEnvironment(testDb, { INNGEST_SIGNING_KEY: SIGNING_KEY, INNGEST_SIGNING_KEY_FALLBACK: FALLBACK_KEY }, { logger });
  route = (await import("@/app/api/inngest/route")) as unknown as typeof route;
});

afterAll(async () => {
  await closeTestEnvironment();
  await testDb.drop();
});

/** RFC 8785 for the JSON used here (strings, integers, booleans, null, arrays, objects). */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonicalJson(item)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

function sign(body: string, key = SIGNING_KEY, at = Math.floor(Date.now() / 1000)): string {
  const hmacKey = key.replace(/^signkey-\w+-/, "");
  const s = createHmac("sha256", hmacKey).update(body).update(String(at)).digest("hex");
  return `t=${at}&s=${s}`;
}

/** An execution request for workflow-execute, as the executor sends it for a run's first step. */
function executeBody(jobId: string): string {
  const event = { id: "01JTESTEVENT", name: "montage/job.queued", data: { job_id: jobId, user_id: "user-1", attempt: 0 }, ts: Date.now() };
  return canonicalJson({
    version: 1,
    event,
    events: [event],
    steps: {},
    ctx: { run_id: "01JTESTRUN", attempt: 0, disable_immediate_execution: false, use_api: false, stack: { stack: [], current: 0 } },
  });
}

function execute(body: string, signature?: string): Promise<Response> {
  return route.POST(
    new Request(`${ORIGIN}/api/inngest?fnId=montage-workflow-execute&stepId=step`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(signature && { "x-inngest-signature": signature }) },
      body,
    }),
  );
}

describe("/api/inngest in cloud mode", () => {
  it("serves a correctly signed execution request and signs its answer", async () => {
    const body = executeBody("no-such-job");

    const response = await execute(body, sign(body));

    expect(response.status).toBe(200);
    const answer = await response.text();
    expect(JSON.parse(answer)).toEqual({ status: "skipped", why: "job not found" });
    // The executor checks the answer's signature the same way: over the body text and t.
    const signed = new URLSearchParams(response.headers.get("x-inngest-signature") ?? "");
    expect(signed.get("s")).toBe(new URLSearchParams(sign(answer, SIGNING_KEY, Number(signed.get("t")))).get("s"));
  });

  it("accepts a request signed with the fallback key during key rotation", async () => {
    const body = executeBody("no-such-job");
    expect((await execute(body, sign(body, FALLBACK_KEY))).status).toBe(200);
  });

  it.each([
    ["missing", () => undefined],
    ["signed with another key", (body: string) => sign(body, `signkey-test-${randomBytes(32).toString("hex")}`)],
    ["for another body", () => sign(executeBody("another-job"))],
    ["expired (more than 5 minutes old)", (body: string) => sign(body, SIGNING_KEY, Math.floor(Date.now() / 1000) - 301)],
    ["from the future (more than 5 minutes ahead)", (body: string) => sign(body, SIGNING_KEY, Math.floor(Date.now() / 1000) + 301)],
    ["malformed", () => "s=deadbeef"],
  ])("refuses an execution request whose signature is %s with 401", async (_case, signature) => {
    const body = executeBody("no-such-job");

    const response = await execute(body, signature(body));

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ message: "Unauthorized" });
  });

  it("answers an unsigned GET without any details of the app", async () => {
    const response = await route.GET(new Request(`${ORIGIN}/api/inngest`));

    // inngest 4.24 refuses unsigned introspection in cloud mode outright (its introspection body
    // has an unauthenticated shape, but the GET handler returns 401 before building it).
    expect(response.status).toBe(401);
    const text = await response.text();
    expect(text).not.toContain("workflow-execute");
    expect(text).not.toContain("montage");
  });

  it("reports Montage's app and functions to a signed GET", async () => {
    const response = await route.GET(new Request(`${ORIGIN}/api/inngest`, { headers: { "x-inngest-signature": sign("") } }));

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      authentication_succeeded: true,
      mode: "cloud",
      app_id: "montage",
      // workflow-execute, its onFailure handler (registered as a function of its own) and the sweep.
      function_count: 3,
      has_signing_key: true,
      signing_key_fallback_hash: expect.any(String),
    });
  });

  it("returns the function configs to a signed in-band sync (PUT)", async () => {
    const body = canonicalJson({ url: `${ORIGIN}/api/inngest` });

    const response = await route.PUT(
      new Request(`${ORIGIN}/api/inngest`, {
        method: "PUT",
        headers: { "content-type": "application/json", "x-inngest-sync-kind": "in_band", "x-inngest-signature": sign(body) },
        body,
      }),
    );

    expect(response.status).toBe(200);
    const sync = (await response.json()) as { app_id: string; functions: Array<Record<string, unknown>> };
    expect(sync.app_id).toBe("montage");
    const byId = Object.fromEntries(sync.functions.map((fn) => [fn.id, fn]));
    expect(byId["montage-workflow-execute"]).toMatchObject({
      name: "Workflow execute",
      triggers: [{ event: "montage/job.queued" }],
      cancel: [{ event: "montage/job.canceled", if: "event.data.job_id == async.data.job_id" }],
      concurrency: [{ key: "event.data.user_id", limit: 2 }, { limit: 4 }],
      priority: { run: "event.data.attempt > 0 ? 120 : 0" },
      // 600 Replicate creates a minute over the longest workflow's model steps (Product Shots: 3).
      throttle: { limit: 200, period: "1m" },
    });
    expect(byId["montage-workflow-retry-sweep"]).toMatchObject({ triggers: [{ cron: "*/5 * * * *" }] });
    expect(byId["montage-workflow-execute-failure"]).toMatchObject({
      triggers: [{ event: "inngest/function.failed", expression: "event.data.function_id == 'montage-workflow-execute'" }],
    });
  });

  it("runs workflow-execute's onFailure when Inngest gives up on a run: the running job fails, and the cause is logged", async () => {
    const user = await rt.prisma.user.create({ data: { email: "failure@example.test" } });
    const jobId = await insertTestJob(rt.store, rt.findWorkflow("img-edit-to-video")!, user.id);
    // A fixture: the run had started the job when Inngest gave up on it.
    await rt.prisma.job.update({ where: { id: jobId }, data: { status: "running", attempts: 1 } });
    const original = { id: "01JTESTEVENT", name: "montage/job.queued", data: { job_id: jobId, user_id: user.id, attempt: 0 }, ts: Date.now() };
    const failed = {
      id: "01JTESTFAILED",
      name: "inngest/function.failed",
      data: { function_id: "montage-workflow-execute", run_id: "01JTESTRUN", error: { name: "Error", message: "database unreachable" }, event: original },
      ts: Date.now(),
    };
    const body = canonicalJson({
      version: 1,
      event: failed,
      events: [failed],
      steps: {},
      ctx: { run_id: "01JTESTFAILURERUN", attempt: 0, disable_immediate_execution: false, use_api: false, stack: { stack: [], current: 0 } },
    });

    const response = await route.POST(
      new Request(`${ORIGIN}/api/inngest?fnId=montage-workflow-execute-failure&stepId=step`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-inngest-signature": sign(body) },
        body,
      }),
    );

    expect(response.status).toBe(200);
    const after = await readJob(jobId);
    // The job says what happened and what to do; the internal cause stays in the logs, not in the API.
    expect(after).toMatchObject({ status: "failed", errorCode: "run_failed", error: "The Inngest run failed after its retries; retry the job to resume it." });
    expect(after.error).not.toContain("database unreachable");
    expect(logLines).toContainEqual(
      expect.objectContaining({ level: "error", msg: "inngest run failed after its retries", job_id: jobId, err: expect.objectContaining({ message: "database unreachable" }) }),
    );
  });

  it("refuses an unsigned in-band sync with 401", async () => {
    const body = canonicalJson({ url: `${ORIGIN}/api/inngest` });
    const response = await route.PUT(
      new Request(`${ORIGIN}/api/inngest`, { method: "PUT", headers: { "content-type": "application/json", "x-inngest-sync-kind": "in_band" }, body }),
    );
    expect(response.status).toBe(401);
  });
});
