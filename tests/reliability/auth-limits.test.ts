import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { startServer, type RunningServer } from "../helpers/server";
import { answerOf, isErrorShape } from "./http";

/**
 * Issue 12, against the real server: sign-up and sign-in are limited per client address (which a
 * client cannot choose with X-Forwarded-For when no proxy is trusted), failed sign-ins slow the
 * account down, the cross-site check compares the whole origin and ignores forwarded headers from
 * an untrusted peer, and next-auth's URLs are the server's own whatever its port.
 */

const PER_ADDRESS = 8;

describe("sign-up and sign-in limits in the real server", () => {
  let database: TestDatabase;
  let server: RunningServer;
  let port: string;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      // No APP_URL and no NEXTAUTH_URL: next-auth must still use this server's port.
      APP_URL: "",
      NEXTAUTH_URL: "",
      RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: String(PER_ADDRESS),
      RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE: "100",
      SIGNIN_FAILURES_BEFORE_DELAY: "3",
    });
    port = new URL(server.url).port;
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
  });

  const signUp = (email: string, headers: Record<string, string> = {}) =>
    fetch(`${server.url}/api/signup`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify({ email, password: "correct horse battery" }) }).then(answerOf);

  async function signIn(email: string, password: string) {
    const csrf = await fetch(`${server.url}/api/auth/csrf`);
    const { csrfToken } = (await csrf.json()) as { csrfToken: string };
    const cookie = csrf.headers.getSetCookie().map((line) => line.split(";")[0]).join("; ");
    const response = await fetch(`${server.url}/api/auth/callback/credentials`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", cookie },
      body: new URLSearchParams({ csrfToken, email, password, json: "true" }),
      redirect: "manual",
    });
    return answerOf(response);
  }

  it("refuses a cross-site sign-up that claims its own host in X-Forwarded-Host (no proxy is trusted)", async () => {
    const answer = await signUp("xfh@example.com", { origin: "https://evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" });
    expect(answer.status, answer.body).toBe(403);
    expect(isErrorShape(answer)).toBe(true);
    // Same host and port as the server, but https: another origin.
    expect((await signUp("scheme@example.com", { origin: `https://127.0.0.1:${port}` })).status).toBe(403);
    expect((await signUp("same-origin@example.com", { origin: `http://127.0.0.1:${port}` })).status).toBe(201);
  });

  it("slows an account down after 3 failed sign-ins (429 with Retry-After), on the server's own URL", async () => {
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push(await signIn("same-origin@example.com", "wrong password"));
    for (const failure of failures) {
      expect(failure.status, failure.body).toBe(401);
      const url = new URL((JSON.parse(failure.body) as { url: string }).url);
      // Issue 12 item 10: not http://localhost:3000.
      expect(url.port).toBe(port);
      expect(url.searchParams.get("error")).toBe("CredentialsSignin");
    }
    const slowed = await signIn("same-origin@example.com", "correct horse battery");
    expect(slowed.status, slowed.body).toBe(429);
    expect(isErrorShape(slowed)).toBe(true);
    expect(Number(slowed.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(new URL((JSON.parse(slowed.body) as { url: string }).url).searchParams.get("error")).toBe("RateLimited");
  });

  it("limits attempts per client address, which X-Forwarded-For cannot change", async () => {
    const answers = [];
    for (let i = 0; i < PER_ADDRESS + 4; i++) answers.push(await signUp(`flood-${i}@example.com`, { "x-forwarded-for": `198.51.100.${i}` }));
    const limited = answers.filter((answer) => answer.status === 429);
    expect(limited.length, answers.map((answer) => answer.status).join(" ")).toBeGreaterThanOrEqual(3);
    for (const answer of limited) {
      expect(isErrorShape(answer)).toBe(true);
      expect(Number(answer.headers["retry-after"])).toBeGreaterThanOrEqual(1);
    }
    expect(answers.every((answer) => answer.status === 201 || answer.status === 429)).toBe(true);
  });
});
