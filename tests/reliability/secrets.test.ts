import { randomBytes } from "node:crypto";
import { encode } from "next-auth/jwt";
import { afterAll, describe, expect, it } from "vitest";
import { createApiToken } from "@/lib/auth/tokens";
import type { Db } from "@/lib/db/client";
import { openDatabase } from "@/lib/server/database";
import { resolveDatabase } from "@/lib/db/database-url";
import { createTestDatabase, type TestDatabase } from "../helpers/db";
import { startServer, type RunningServer } from "../helpers/server";
import { ReplicateFake } from "../fakes/replicate-fake";
import { postExecute, waitFor } from "./support";

const alnum = (n: number) => randomBytes(n * 2).toString("base64").replace(/[^A-Za-z0-9]/g, "").slice(0, n);

/**
 * Provider auth failures forced on a real server whose environment is full of secrets (LOG_LEVEL
 * debug, so that it logs as much as it can): with the local fault switch (`*:auth`), and with the
 * Replicate provider pointed at the local fake of Replicate's API, which answers 401 to the token
 * Montage sends. Neither the server's captured stdout and stderr, nor any job_events row, nor any
 * API response contains a token or secret.
 */
describe("secrets stay out of logs, events and responses", { timeout: 300_000 }, () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  async function scenario(env: Record<string, string>, waitUntil: (db: Db, jobId: string) => Promise<boolean>) {
    const database: TestDatabase = await createTestDatabase("sqlite");
    const opened = openDatabase(resolveDatabase(database.url, database.dataDir));
    const db = opened.prisma;
    // Assigned once started; the cleanup above may run before that.
    let server: RunningServer | undefined = undefined;
    cleanups.push(async () => {
      await server?.stop();
      await opened.close();
      await database.drop();
    });
    const user = await db.user.create({ data: { email: "secrets@example.com" } });
    const { token } = await createApiToken(opened.store, user.id, "live");
    const revoked = await createApiToken(opened.store, user.id, "revoked");
    await db.apiToken.update({ where: { id: revoked.record.id }, data: { revokedAt: new Date() } });
    const nextAuthSecret = alnum(40);
    const githubSecret = `ghs_${alnum(36)}`;
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      LOG_LEVEL: "debug",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "1",
      NEXTAUTH_SECRET: nextAuthSecret,
      GITHUB_ID: "montage-test",
      GITHUB_SECRET: githubSecret,
      ...env,
    });
    const cookie = `next-auth.session-token=${await encode({ token: { sub: user.id }, secret: nextAuthSecret })}`;

    // Responses: the execute, the stream, the details, the list; and refusals that echo nothing back.
    const responses: string[] = [];
    const capture = async (response: Response) => {
      responses.push(`${response.status} ${JSON.stringify(Object.fromEntries(response.headers))} ${await response.text()}`);
    };
    const started = await postExecute(server.url, token);
    const jobId = ((await started.clone().json()) as { job_id: string }).job_id;
    await capture(started);
    await waitFor(`job ${jobId} in the expected state`, () => waitUntil(db, jobId), 60_000, 100);
    const auth = { authorization: `Bearer ${token}` };
    const streamAbort = new AbortController();
    const stream = await fetch(`${server.url}/jobs/${jobId}/stream`, { headers: auth, signal: streamAbort.signal });
    const reader = stream.body!.getReader();
    let sse = "";
    const decoder = new TextDecoder();
    // The stream replays every event written so far; read until the last of them arrived.
    const lastId = (await db.jobEvent.findFirstOrThrow({ where: { jobId }, orderBy: { id: "desc" } })).id;
    while (!sse.includes(`id: ${lastId}\n`)) {
      const { value, done } = await reader.read();
      if (done) break;
      sse += decoder.decode(value);
    }
    streamAbort.abort();
    responses.push(sse);
    await capture(await fetch(`${server.url}/workflows/execution/${jobId}`, { headers: auth }));
    await capture(await fetch(`${server.url}/jobs`, { headers: { cookie } }));
    await capture(await fetch(`${server.url}/jobs`, { headers: { authorization: `Bearer ${revoked.token}` } }));
    await capture(await fetch(`${server.url}/jobs`, { headers: { authorization: `Bearer ${token.slice(0, -1)}x` } }));
    await capture(await fetch(`${server.url}/workflows/execute`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ token }) }));

    const events = JSON.stringify(await db.jobEvent.findMany({ where: { jobId } }));
    const job = JSON.stringify(await db.job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } }));
    const secrets = { token, revoked: revoked.token, nextAuthSecret, githubSecret, cookie: cookie.split("=")[1]!, ...env };
    return { server, events, job, responses, secrets };
  }

  function expectNoSecrets(places: Record<string, string>, secrets: Record<string, string>, secretNames: string[]) {
    for (const name of secretNames) {
      const value = secrets[name]!;
      expect(value.length).toBeGreaterThanOrEqual(16);
      for (const [where, text] of Object.entries(places)) {
        expect(text.includes(value), `${name} found in ${where}`).toBe(false);
      }
    }
  }

  it("local provider auth failures (fault switch *:auth)", async () => {
    const { server, events, job, responses, secrets } = await scenario({ LOCAL_PROVIDER_FAULTS: "*:auth:2" }, async (db, jobId) => {
      const row = await db.job.findUniqueOrThrow({ where: { id: jobId } });
      return row.status === "completed";
    });
    expect(events).toContain("Unauthenticated (401)");
    expectNoSecrets({ logs: server.output(), events, job, responses: responses.join("\n") }, secrets, ["token", "revoked", "nextAuthSecret", "githubSecret", "cookie"]);
    console.log(`[reliability] secrets (local *:auth): ${server.output().split("\n").length} log lines, ${responses.length} responses, events of 1 job searched for 5 secrets: none found`);
  });

  it("Replicate answering 401 to the configured REPLICATE_API_TOKEN (local fake of its API)", async () => {
    const fake = await new ReplicateFake().start();
    cleanups.push(() => fake.stop());
    const replicateToken = `r8_${alnum(37)}`;
    const { server, events, job, responses, secrets } = await scenario(
      { REPLICATE_API_TOKEN: replicateToken, REPLICATE_BASE_URL: fake.baseUrl, REPLICATE_WEBHOOKS: "off", REPLICATE_POLL_INTERVAL_MS: "100" },
      async (db, jobId) => {
        const row = await db.job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true } });
        // Parked on auth, and the sweep has since probed Replicate with the token at least once more.
        return row.status === "pending_retry" && row.execution?.lastErrorReason === "auth" && fake.requests.filter((r) => r.path.endsWith("/account")).length > 0;
      },
    );
    expect(fake.creations).toBe(0);
    expect(fake.requests.length).toBeGreaterThan(0);
    expect(events).toMatch(/auth/);
    const places = { logs: server.output(), events, job, responses: responses.join("\n") };
    expectNoSecrets(places, secrets, ["REPLICATE_API_TOKEN", "token", "revoked", "nextAuthSecret", "githubSecret", "cookie"]);
    // Not even the token's tail, in case something strips the r8_ prefix.
    expectNoSecrets(places, { tail: replicateToken.slice(3) }, ["tail"]);
    console.log(
      `[reliability] secrets (Replicate 401): ${fake.requests.length} requests to the fake, ${server.output().split("\n").length} log lines, ` +
        `${responses.length} responses, events of 1 job searched for 7 secrets: none found`,
    );
  });
});
