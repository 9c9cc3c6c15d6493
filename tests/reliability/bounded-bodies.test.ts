import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { BODY_LIMITS } from "@/lib/api/body";
import { runtime } from "@/lib/server/runtime";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken, FIXTURE_JPEG } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";
import { answerOf, BOUNDARY, isErrorShape, multipart, sendRaw, type Answer } from "./http";

/**
 * Issue 12, against the real server (next start): every route that reads a body refuses one past
 * its limit with 413 in the error shape before the rest is sent; paths that do not decode answer
 * 400; /api/inngest without Inngest is a quiet 404; the multipart parser's error paths end in their
 * 4xx; and exactly the advertised maximum is accepted. The server's log is checked for uncaught
 * exceptions when it stops (tests/helpers/server.ts).
 */

const MB = 1024 * 1024;
const MAX_UPLOAD_BYTES = 200_000; // small, so that "exactly the maximum" is a cheap request

describe("bounded bodies and clean error paths in the real server", () => {
  let database: TestDatabase;
  let db: () => Db;
  let server: RunningServer;
  let port: number;
  let alice: { token: string };

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    db = () => runtime().prisma;
    alice = await createUserWithToken("bodies-alice@example.com");
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      RATE_LIMIT_EXECUTES_PER_MINUTE: "100000",
      RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: "100000",
    });
    port = Number(new URL(server.url).port);
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
  });

  /** `total` bytes of body in 64 KB chunks, stopping as soon as the answer has arrived. */
  function* bytes(total: number, encode: (chunk: Buffer) => Buffer = (chunk) => chunk): Generator<Buffer> {
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    for (let sent = 0; sent < total; sent += chunk.length) yield encode(chunk);
  }
  const chunked = (chunk: Buffer) => Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
  const post = (path: string, contentType: string, extra: string) =>
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\n${extra}`;

  const unauthenticated: [string, string, number, number][] = [
    ["/api/signup", "application/json", BODY_LIMITS.smallJson, 413],
    ["/api/webhooks/replicate", "application/json", BODY_LIMITS.replicateWebhook, 413],
    ["/api/auth/callback/credentials", "application/x-www-form-urlencoded", BODY_LIMITS.authForm, 413],
    // Without Inngest there is nothing here: refused before a byte is read.
    ["/api/inngest", "application/json", 0, 404],
  ];

  it.each(unauthenticated)("%s: a 300 MB body (Content-Length) is refused before it is sent", async (path, contentType, _limit, status) => {
    const { answer, sentBytes } = await sendRaw(port, post(path, contentType, `Content-Length: ${300 * MB}`), bytes(300 * MB), 60_000);
    expect(answer.status, answer.body).toBe(status);
    expect(isErrorShape(answer), answer.body).toBe(true);
    expect(sentBytes).toBeLessThan(300 * MB);
  });

  it.each(unauthenticated)("%s: a 300 MB chunked body is refused while it streams", async (path, contentType, _limit, status) => {
    const { answer, sentBytes } = await sendRaw(port, post(path, contentType, "Transfer-Encoding: chunked"), bytes(300 * MB, chunked), 60_000);
    expect(answer.status, answer.body).toBe(status);
    expect(isErrorShape(answer), answer.body).toBe(true);
    // Refused while the body streamed: the answer came before the client had sent it all. How much
    // the client got out first depends on the sockets' buffers and on how busy the machine is (40 MB
    // was seen on a loaded run), so it bounds nothing the server holds; what the server holds is its
    // RSS, measured by bench/exhaustion.ts (docs/reliability.md).
    expect(sentBytes).toBeLessThan(300 * MB);
  });

  it("a keep-alive client whose sign-up was refused as too large keeps its connection: its next request on it is answered", async () => {
    const body = JSON.stringify({ email: "long@example.com", password: "correct horse battery", name: "x".repeat(BODY_LIMITS.smallJson) });
    const head = `POST /api/signup HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
    expect(await twoOnOneConnection(port, Buffer.from(head + body))).toEqual([413, 200]);
  });

  it("accepts a sign-up body of exactly the limit, and refuses one byte more", async () => {
    const body = (size: number) => {
      const json = JSON.stringify({ email: `exact-${size}@example.com`, password: "correct horse battery", name: "" });
      return json.replace('"name":""', `"name":"${" ".repeat(size - json.length)}"`);
    };
    const at = await fetch(`${server.url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: body(BODY_LIMITS.smallJson) });
    expect(at.status, await at.clone().text()).toBe(201);
    const over = await answerOf(await fetch(`${server.url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: body(BODY_LIMITS.smallJson + 1) }));
    expect(over.status).toBe(413);
    expect(isErrorShape(over)).toBe(true);
  });

  it.each([
    ["POST /api/signup", `POST /api/signup HTTP/1.1\r\nHost: a b\r\nContent-Type: application/json\r\nContent-Length: 3\r\nConnection: close\r\n\r\nnot`, 400],
    ["GET /jobs/<id>/stream", `GET /jobs/${"0".repeat(8)}-0000-4000-8000-${"0".repeat(12)}/stream HTTP/1.1\r\nHost: a b\r\nConnection: close\r\n\r\n`, 401],
  ])("%s with a Host header that is not a host answers in the error shape, with no uncaught exception", async (_name, raw, status) => {
    const answer = (await sendRaw(port, raw)).answer;
    expect(answer.status, answer.body).toBe(status);
    expect(isErrorShape(answer), answer.body).toBe(true);
    expect(server.uncaught()).toEqual([]);
  });

  it.each([
    ["/jobs/%zz/stream", "GET"],
    ["/files/%c0%ae", "GET"],
    ["/workflows/cancel/%e0%80", "POST"],
    ["/api/%ff?x=1", "GET"],
  ])("%s answers 400 in the error shape", async (path, method) => {
    const answer = (await sendRaw(port, `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${alice.token}\r\nConnection: close`)).answer;
    expect(answer.status, answer.body).toBe(400);
    expect(isErrorShape(answer), answer.body).toBe(true);
  });

  it("answers /api/inngest without Inngest with a quiet 404, and never logs the body", async () => {
    const marker = `raw-bytes-${Date.now()}`;
    const logBefore = server.output().length;
    for (const body of [Buffer.concat([Buffer.from(marker), Buffer.alloc(64, 0)]), Buffer.from(`{"${marker}":1}`)]) {
      const answer = await answerOf(await fetch(`${server.url}/api/inngest`, { method: "POST", body: new Uint8Array(body) }));
      expect(answer.status).toBe(404);
      expect(isErrorShape(answer)).toBe(true);
    }
    const log = server.output().slice(logBefore);
    expect(log).not.toContain(marker);
    expect(log).not.toMatch(/"level":"error"/);
  });

  describe("POST /workflows/execute", () => {
    const execute = (body: Buffer) =>
      fetch(`${server.url}/workflows/execute`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: new Uint8Array(body),
      }).then(answerOf);
    const jpegOf = (size: number) => Buffer.concat([FIXTURE_JPEG, Buffer.alloc(size - FIXTURE_JPEG.length)]);
    const withFile = (file: Buffer, filename = "photo.jpg", fields: Record<string, string> = {}) =>
      multipart([{ name: "workflow_id", value: "img-edit-to-video" }, ...Object.entries(fields).map(([name, value]) => ({ name, value })), { name: "file", filename, contentType: "image/jpeg", value: file }]);

    it("accepts a file of exactly MAX_UPLOAD_BYTES and refuses one byte more", async () => {
      const at = await execute(withFile(jpegOf(MAX_UPLOAD_BYTES)));
      expect(at.status, at.body).toBe(202);
      const over = await execute(withFile(jpegOf(MAX_UPLOAD_BYTES + 1)));
      expect(over.status, over.body).toBe(413);
      expect(isErrorShape(over)).toBe(true);
    });

    it("a keep-alive client whose upload was refused keeps its connection: its next request on it is answered", async () => {
      const body = withFile(jpegOf(MAX_UPLOAD_BYTES + 100_000));
      const head = `POST /workflows/execute HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${alice.token}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${body.length}\r\n\r\n`;
      expect(await twoOnOneConnection(port, Buffer.concat([Buffer.from(head), body]))).toEqual([413, 200]);
    });

    it("accepts a prompt of exactly its advertised 1000 characters, emoji and line breaks counted once", async () => {
      const prompt = `${"🎬".repeat(500)}${"a\r\n".repeat(250)}`;
      const at = await execute(withFile(FIXTURE_JPEG, "photo.jpg", { edit_prompt: prompt }));
      expect(at.status, at.body).toBe(202);
      const over = await execute(withFile(FIXTURE_JPEG, "photo.jpg", { edit_prompt: `${prompt}x` }));
      expect(over.status, over.body).toBe(400);
    });

    it("refuses a hostile file name 20 times in 20 with 400, nothing stored, no uncaught exception", async () => {
      // Jobs the tests above accepted are still writing their events: count what a refusal could store.
      const stored = async () => ({ jobs: await db().job.count(), uploads: await db().upload.count() });
      const before = await stored();
      for (let i = 0; i < 20; i++) {
        const answer = await execute(withFile(FIXTURE_JPEG, "../../evil.jpg"));
        expect(answer.status, answer.body).toBe(400);
        expect(isErrorShape(answer)).toBe(true);
      }
      expect(await stored()).toEqual(before);
      expect(server.uncaught()).toEqual([]);
    });

    it("refuses a body that ends inside the file part with 400, without an uncaught exception", async () => {
      const whole = withFile(FIXTURE_JPEG);
      const cut = whole.subarray(0, whole.indexOf(Buffer.from("\r\n\r\n", "latin1"), whole.indexOf("filename")) + 4 + 1000);
      for (let i = 0; i < 10; i++) {
        const answer: Answer = await execute(cut);
        expect(answer.status, answer.body).toBe(400);
        expect(isErrorShape(answer)).toBe(true);
      }
      expect(server.uncaught()).toEqual([]);
    });
  });
});

/**
 * Sends `first` on a new connection and, once its answer's status line has arrived, `GET /api/live`
 * on the same connection: the status of each answer that arrived before the connection closed or
 * 10 s passed.
 */
function twoOnOneConnection(port: number, first: Buffer): Promise<number[]> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let received = "";
    let sentSecond = false;
    const statuses = () => [...received.matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((match) => Number(match[1]));
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(statuses());
    };
    const timer = setTimeout(done, 10_000);
    socket.on("error", done);
    socket.on("close", done);
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1");
      const seen = statuses();
      if (seen.length === 1 && !sentSecond) {
        sentSecond = true;
        socket.write(`GET /api/live HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`);
      }
      if (seen.length >= 2) done();
    });
    socket.write(first);
  });
}
