import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/tokens";
import type { Db } from "@/lib/db/client";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";
import { answerOf, isErrorShape, type Answer } from "./http";
import { postExecute, rowCounts, startJob, waitFor } from "./support";
import { runtime } from "@/lib/server/runtime";

/**
 * Authorization on the real server, for every job route (details, stream, retry, cancel, rerun, approve, pick, and the
 * files the job stored: its upload and its outputs): another user's token or session cookie gets
 * 404, exactly as for a job that does not exist; a revoked token gets 401 everywhere; and a
 * state-changing request carrying only a cookie from another site is refused with 403.
 */
describe("authorization on every job route", () => {
  const secret = randomBytes(32).toString("base64url");
  let database: TestDatabase;
  let db: () => Db;
  let server: RunningServer;
  let alice: { userId: string; token: string; cookie: string; revokedToken: string };
  let bob: { userId: string; token: string; cookie: string };
  let jobId: string;
  let checked = 0;

  const sessionCookie = async (userId: string) => `next-auth.session-token=${await encode({ token: { sub: userId }, secret })}`;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    db = () => runtime().prisma;
    const a = await createUserWithToken("authz-alice@example.com");
    const revoked = await createApiToken(runtime().store, a.userId, "revoked");
    await db().apiToken.update({ where: { id: revoked.record.id }, data: { revokedAt: new Date() } });
    alice = { ...a, cookie: await sessionCookie(a.userId), revokedToken: revoked.token };
    const b = await createUserWithToken("authz-bob@example.com");
    bob = { ...b, cookie: await sessionCookie(b.userId) };
    server = await startServer({ DATABASE_URL: database.url, DATA_DIR: database.dataDir, NEXTAUTH_SECRET: secret, WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    jobId = await startJob(server.url, alice.token);
    await waitFor(`job ${jobId} completed`, async () => (await db().job.findUniqueOrThrow({ where: { id: jobId } })).status === "completed", 60_000);
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
    console.log(`[reliability] authorization: ${checked} requests checked (9 job routes × other user's token and cookie, revoked token, cross-site cookie POSTs)`);
  });

  const routes = () =>
    [
      ["details", "GET", `/workflows/execution/${jobId}`],
      ["stream", "GET", `/jobs/${jobId}/stream`],
      ["retry", "POST", `/workflows/retry/${jobId}`],
      ["cancel", "POST", `/workflows/cancel/${jobId}`],
      // Reached with no body: the owner gets the body's 415, anyone else the job's 404 first.
      ["rerun", "POST", `/workflows/rerun/${jobId}`],
      ["approve", "POST", `/workflows/approve/${jobId}`],
      ["pick", "POST", `/workflows/pick/${jobId}`],
      ["file: the upload", "GET", `/files/jobs/${jobId}/0-upload.jpg`],
      ["file: an output", "GET", `/files/jobs/${jobId}/2-video_generation.mp4`],
    ] as const;

  async function call(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
    checked++;
    return answerOf(await fetch(`${server.url}${path}`, { method, headers }));
  }

  it("the owner reaches every route (so that the 404s below mean something)", async () => {
    const expected: Record<string, number> = { details: 200, stream: 200, retry: 409, cancel: 409, rerun: 415, approve: 415, pick: 415, "file: the upload": 200, "file: an output": 200 };
    for (const credentials of [{ authorization: `Bearer ${alice.token}` }, { cookie: alice.cookie }] as Record<string, string>[]) {
      for (const [name, method, path] of routes()) {
        expect((await call(method, path, credentials)).status, `${name} ${JSON.stringify(Object.keys(credentials))}`).toBe(expected[name]);
      }
    }
  });

  it("another user's token or session gets 404 in the error shape on every route, like a job that does not exist", async () => {
    const before = await db().job.findUniqueOrThrow({ where: { id: jobId } });
    for (const credentials of [{ authorization: `Bearer ${bob.token}` }, { cookie: bob.cookie }] as Record<string, string>[]) {
      for (const [name, method, path] of routes()) {
        const answer = await call(method, path, credentials);
        expect(answer.status, `${name}: ${answer.body}`).toBe(404);
        expect(isErrorShape(answer)).toBe(true);
        const missing = await call(method, path.replace(jobId, crypto.randomUUID()), credentials);
        expect(JSON.parse(missing.body)).toEqual(JSON.parse(answer.body));
      }
      const list = JSON.parse((await call("GET", "/jobs", credentials)).body) as { jobs: unknown[] };
      expect(list.jobs).toEqual([]);
    }
    expect(await db().job.findUniqueOrThrow({ where: { id: jobId } })).toEqual(before);
  });

  it("a revoked token gets 401 on every route", async () => {
    const all = [...routes(), ["list", "GET", "/jobs"], ["execute", "POST", "/workflows/execute"]] as const;
    for (const [name, method, path] of all) {
      const answer = await call(method, path, { authorization: `Bearer ${alice.revokedToken}` });
      expect(answer.status, name).toBe(401);
      expect(isErrorShape(answer)).toBe(true);
      expect(answer.headers["www-authenticate"]).toContain("invalid_token");
    }
  });

  it("refuses cross-site cookie POSTs with 403 and changes nothing; same-site cookie POSTs and token POSTs pass", async () => {
    const crossSite: Record<string, string>[] = [{ origin: "https://evil.example" }, { origin: "null" }, { "sec-fetch-site": "cross-site" }, { origin: `${server.url}.evil.example` }];
    const before = { rows: await rowCounts(db()), job: await db().job.findUniqueOrThrow({ where: { id: jobId } }) };
    for (const headers of crossSite) {
      for (const [name, method, path] of routes().filter(([, method]) => method === "POST")) {
        const answer = await call(method, path, { cookie: alice.cookie, ...headers });
        expect(answer.status, `${name} ${JSON.stringify(headers)}`).toBe(403);
        expect(isErrorShape(answer)).toBe(true);
      }
      const form = new FormData();
      form.append("workflow_id", "img-edit-to-video");
      form.append("file", new Blob([new Uint8Array(randomBytes(16))], { type: "image/jpeg" }), "x.jpg");
      checked++;
      const execute = await answerOf(await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { cookie: alice.cookie, ...headers } }));
      expect(execute.status, `execute ${JSON.stringify(headers)}`).toBe(403);
    }
    expect(await rowCounts(db())).toEqual(before.rows);
    expect(await db().job.findUniqueOrThrow({ where: { id: jobId } })).toEqual(before.job);

    // The same POST from Montage's own page reaches the route (409: the job has already completed).
    expect((await call("POST", `/workflows/cancel/${jobId}`, { cookie: alice.cookie, origin: server.url, "sec-fetch-site": "same-origin" })).status).toBe(409);
    // A Bearer token is not an ambient credential: a cross-site Origin does not matter to it.
    checked++;
    const tokenPost = await postExecute(server.url, alice.token, {});
    expect(tokenPost.status).toBe(202);
    const started = ((await tokenPost.json()) as { job_id: string }).job_id;
    expect((await call("POST", `/workflows/cancel/${started}`, { authorization: `Bearer ${alice.token}`, origin: "https://evil.example" })).status).toBe(200);
  });
});
