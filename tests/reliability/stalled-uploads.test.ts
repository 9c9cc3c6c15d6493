import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Db } from "@/lib/db/client";
import { runtime } from "@/lib/server/runtime";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken } from "../helpers/api";
import { startServer, type RunningServer } from "../helpers/server";
import { answerOf, BOUNDARY, isErrorShape, multipart, sendRaw } from "./http";
import { postExecute, rowCounts, waitFor } from "./support";

/**
 * Issue 12, against the real server: an upload that stalls holds a temporary file, not memory, and
 * is refused (408) at its deadline; a user has at most RATE_LIMIT_CONCURRENT_UPLOADS uploads in
 * flight; start-up sweeps the temporary files of dead processes and keeps a live one's; and ffmpeg
 * dies with a server killed by kill -9.
 */

const MB = 1024 * 1024;

describe("uploads that cannot pin memory, and temporary files that do not outlive their process", () => {
  let database: TestDatabase;
  let db: () => Db;
  let server: RunningServer;
  let port: number;
  let alice: { token: string };
  let serverTmp: string;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    db = () => runtime().prisma;
    alice = await createUserWithToken("stalled-alice@example.com");
    serverTmp = mkdtempSync(path.join(tmpdir(), "montage-stalled-test-"));
    // Left by a dead process (no such pid), from before pids were in names, and by a live one (this test).
    mkdirSync(path.join(serverTmp, "montage-video-999999999-abc"));
    writeFileSync(path.join(serverTmp, "montage-video-999999999-abc", "frame.png"), "x");
    writeFileSync(path.join(serverTmp, "montage-upload-999999999-def"), "x");
    mkdirSync(path.join(serverTmp, "montage-video-old"));
    mkdirSync(path.join(serverTmp, `montage-video-${process.pid}-live`));
    server = await startServer({
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
      TMPDIR: serverTmp,
      UPLOAD_BODY_TIMEOUT_SECONDS: "4",
      RATE_LIMIT_CONCURRENT_UPLOADS: "2",
      RATE_LIMIT_EXECUTES_PER_MINUTE: "100000",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
    });
    port = Number(new URL(server.url).port);
  });

  afterAll(async () => {
    await server?.stop();
    await closeTestEnvironment();
    await database.drop();
    rmSync(serverTmp, { recursive: true, force: true });
  });

  const spilled = () => readdirSync(serverTmp).filter((name) => name.startsWith("montage-upload-"));

  it("sweeps the temporary files of dead processes at start-up, and keeps a live process's", () => {
    expect(readdirSync(serverTmp).filter((name) => name.startsWith("montage-")).sort()).toEqual([`montage-video-${process.pid}-live`]);
  });

  /** A multipart upload whose file part stops after `sent` bytes and never ends. */
  function* stalledUpload(sent: number): Generator<Buffer> {
    yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="workflow_id"\r\n\r\nimg-edit-to-video\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
    yield Buffer.alloc(sent, 0xff);
  }
  const head = `POST /workflows/execute HTTP/1.1\r\nHost: 127.0.0.1:${"PORT"}\r\nAuthorization: Bearer TOKEN\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${10 * MB}`;

  it("spills stalled uploads to temporary files, limits them per user (429), refuses them at the deadline (408), and removes the files", async () => {
    const rowsBefore = await rowCounts(db());
    const request = head.replace("PORT", String(port)).replace("TOKEN", alice.token);
    const stalled = [sendRaw(port, request, stalledUpload(9 * MB), 60_000), sendRaw(port, request, stalledUpload(9 * MB), 60_000)];
    // Both are being received, and their bytes are on disk, not in the server's memory.
    await waitFor("two spilled uploads", async () => spilled().length === 2, 30_000);

    const third = await answerOf(
      await fetch(`${server.url}/workflows/execute`, {
        method: "POST",
        headers: { authorization: `Bearer ${alice.token}`, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
        body: new Uint8Array(multipart([{ name: "workflow_id", value: "img-edit-to-video" }])),
      }),
    );
    expect(third.status, third.body).toBe(429);
    expect(isErrorShape(third)).toBe(true);

    for (const { answer } of await Promise.all(stalled)) {
      expect(answer.status, answer.body).toBe(408);
      expect(isErrorShape(answer)).toBe(true);
    }
    await waitFor("the spilled files removed", async () => spilled().length === 0, 10_000);
    expect(await rowCounts(db())).toEqual(rowsBefore);
    // The slots were given back.
    expect((await postExecute(server.url, alice.token)).status).toBe(202);
  });

  it.runIf(process.platform === "linux")("kills ffmpeg when the server is killed with kill -9 mid-render", async () => {
    const ffmpegChildren = () =>
      readdirSync("/proc")
        .filter((entry) => /^\d+$/.test(entry))
        .flatMap((pid) => {
          try {
            const status = readFileSync(`/proc/${pid}/status`, "utf8");
            const name = /^Name:\s+(.*)$/m.exec(status)?.[1] ?? "";
            const parent = Number(/^PPid:\s+(\d+)$/m.exec(status)?.[1]);
            return name.startsWith("ffmpeg") && readFileSync(`/proc/${pid}/environ`, "latin1").includes(serverTmp) ? [{ pid: Number(pid), parent }] : [];
          } catch {
            return [];
          }
        });
    expect((await postExecute(server.url, alice.token)).status).toBe(202);
    const [ffmpeg] = await waitFor("ffmpeg running for the video step", async () => {
      const found = ffmpegChildren();
      return found.length > 0 ? found : undefined;
    }, 120_000, 20);
    // Only the server process: its children are not signalled by anyone but the kernel.
    process.kill(ffmpeg!.parent, "SIGKILL");
    await waitFor(`ffmpeg ${ffmpeg!.pid} gone`, async () => !ffmpegChildren().some((child) => child.pid === ffmpeg!.pid), 3_000);
    await server.crash();
  });
});
