/**
 * Issue 12's figures (docs/reliability.md, "Resource exhaustion"), measured on `next start` with
 * SQLite; run after `npm run build`:
 *
 *   npx tsx --conditions=react-server bench/exhaustion.ts
 *
 * 1. each unauthenticated route that reads a body, sent 300 MB (chunked): bytes sent before the
 *    answer, and the server's RSS growth;
 * 2. 50 uploads (17 users, at most 3 each) stalled at 90 % of 10 MB: RSS growth, spilled files;
 * 3. GET /workflows/list latency (p50/p99) idle and during 40 parallel sign-ups for a taken email
 *    and for 40 new emails from one address;
 * each repeated RUNS times, medians quoted, with the load average (the machine is shared).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { createTestDatabase, useTestEnvironment, closeTestEnvironment } from "../tests/helpers/db";
import { createUserWithToken } from "../tests/helpers/api";
import { startServer, type RunningServer } from "../tests/helpers/server";
import { BOUNDARY, sendRaw } from "../tests/reliability/http";

const RUNS = Number(process.env.RUNS ?? 3);
/** SECTIONS=signups runs only the third part. */
const SECTIONS = (process.env.SECTIONS ?? "bodies,stalled,signups").split(",");
const MB = 1024 * 1024;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const percentile = (values: number[], p: number) => [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor((values.length * p) / 100))]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function rssBytes(pid: number): number {
  const kb = Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]);
  return kb * 1024;
}

function* chunkedBody(total: number): Generator<Buffer> {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const framed = Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
  for (let sent = 0; sent < total; sent += chunk.length) yield framed;
}

async function bodies(server: RunningServer, port: number) {
  const routes: [string, string][] = [
    ["/api/signup", "application/json"],
    ["/api/webhooks/replicate", "application/json"],
    ["/api/auth/callback/credentials", "application/x-www-form-urlencoded"],
    ["/api/inngest", "application/json"],
  ];
  const rows = [];
  for (const [route, contentType] of routes) {
    const sent: number[] = [];
    const growth: number[] = [];
    let status = 0;
    for (let run = 0; run < RUNS; run++) {
      const before = rssBytes(server.process.pid!);
      const result = await sendRaw(port, `POST ${route} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: ${contentType}\r\nTransfer-Encoding: chunked`, chunkedBody(300 * MB), 120_000);
      status = result.answer.status;
      sent.push(result.sentBytes);
      await sleep(200);
      growth.push(rssBytes(server.process.pid!) - before);
    }
    rows.push({ route, status, sentMb: median(sent) / MB, rssGrowthMb: median(growth) / MB });
  }
  return rows;
}

async function stalledUploads(server: RunningServer, port: number, tokens: string[], tmp: string) {
  const growth: number[] = [];
  let spilled = 0;
  for (let run = 0; run < RUNS; run++) {
    const before = rssBytes(server.process.pid!);
    const sockets = tokens.flatMap((token) => [0, 1, 2].map(() => token)).slice(0, 50).map((token) => {
      function* body() {
        yield Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="workflow_id"\r\n\r\nimg-edit-to-video\r\n--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`);
        for (let i = 0; i < 9; i++) yield Buffer.alloc(MB, 0xff);
      }
      return sendRaw(port, `POST /workflows/execute HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Type: multipart/form-data; boundary=${BOUNDARY}\r\nContent-Length: ${10 * MB}`, body(), 600_000).catch(() => undefined);
    });
    const deadline = Date.now() + 300_000;
    const count = () => readdirSync(tmp).filter((name) => name.startsWith("montage-upload-")).length;
    let lastSize = -1;
    // Until every upload has written its 9 MB (the spilled files stop growing).
    for (;;) {
      const size = readdirSync(tmp).filter((name) => name.startsWith("montage-upload-")).reduce((sum, name) => sum + (statSync(path.join(tmp, name), { throwIfNoEntry: false })?.size ?? 0), 0);
      if ((count() >= 50 && size === lastSize) || Date.now() > deadline) break;
      lastSize = size;
      await sleep(2000);
    }
    spilled = count();
    growth.push(rssBytes(server.process.pid!) - before);
    // The deadline (UPLOAD_BODY_TIMEOUT_SECONDS) answers them all with 408.
    await Promise.all(sockets);
  }
  return { uploads: 50, spilledFiles: spilled, rssGrowthMb: median(growth) / MB };
}

async function latencyDuring(url: string, load: (() => Promise<unknown>) | undefined): Promise<{ p50: number; p99: number }> {
  const latencies: number[] = [];
  let running = true;
  const loadDone = load ? load().finally(() => (running = false)) : sleep(3000).then(() => (running = false));
  while (running || latencies.length < 50) {
    const start = performance.now();
    await fetch(`${url}/workflows/list`).then((response) => response.arrayBuffer());
    latencies.push(performance.now() - start);
  }
  await loadDone;
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

async function signUps(url: string) {
  const taken = "taken@example.com";
  await fetch(`${url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: taken, password: "correct horse battery" }) });
  const burst = (emails: string[]) => () => Promise.all(emails.map((email) => fetch(`${url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "correct horse battery" }) }).then((response) => response.status)));
  const rows: Record<string, { p50: number[]; p99: number[] }> = { idle: { p50: [], p99: [] }, taken: { p50: [], p99: [] }, fresh: { p50: [], p99: [] } };
  for (let run = 0; run < RUNS; run++) {
    for (const [name, load] of [["idle", undefined], ["taken", burst(Array.from({ length: 40 }, () => taken))], ["fresh", burst(Array.from({ length: 40 }, (_, i) => `fresh-${run}-${i}@example.com`))]] as const) {
      const { p50, p99 } = await latencyDuring(url, load);
      rows[name]!.p50.push(p50);
      rows[name]!.p99.push(p99);
      // Let the per-address bucket refill between bursts.
      if (name !== "idle") await sleep(61_000);
    }
  }
  return Object.fromEntries(Object.entries(rows).map(([name, { p50, p99 }]) => [name, { p50Ms: Math.round(median(p50)), p99Ms: Math.round(median(p99)) }]));
}

const loadAtStart = os.loadavg().map((x) => x.toFixed(2));
const database = await createTestDatabase("sqlite");
await useTestEnvironment(database);
const tokens = [];
for (let i = 0; i < 17; i++) tokens.push((await createUserWithToken(`stall-${i}@example.com`)).token);
await closeTestEnvironment();
const tmp = mkdtempSync(path.join(os.tmpdir(), "montage-exhaustion-"));
const server = await startServer({ DATABASE_URL: database.url, DATA_DIR: database.dataDir, TMPDIR: tmp, UPLOAD_BODY_TIMEOUT_SECONDS: "20", LOG_LEVEL: "warn" });
const port = Number(new URL(server.url).port);
try {
  const results = {
    machine: { nproc: os.availableParallelism(), loadAtStart },
    bodies: SECTIONS.includes("bodies") ? await bodies(server, port) : "skipped",
    stalled: SECTIONS.includes("stalled") ? await stalledUploads(server, port, tokens, tmp) : "skipped",
    signUps: SECTIONS.includes("signups") ? await signUps(server.url) : "skipped",
    uncaughtInServerLog: server.uncaught().length,
    loadAtEnd: os.loadavg().map((x) => x.toFixed(2)),
  };
  console.log(JSON.stringify(results, null, 2));
} finally {
  await server.stop().catch((error: unknown) => console.error(error));
  await database.drop();
  rmSync(tmp, { recursive: true, force: true });
}
