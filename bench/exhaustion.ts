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
 *    and for 40 new emails from one address, and each burst's p99 ÷ idle p99 of the same run;
 *    SIGNUP_DIST_DIRS=.next-before,.next compares builds, phase by phase on the same machine
 *    (the first is served from MONTAGE_DIST_DIR, which must name the same build);
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

/**
 * Sign-up bursts against one or more servers (SIGNUP_DIST_DIRS: builds to compare, e.g.
 * `.next-before,.next`), interleaved phase by phase so that both see the same machine. Per run and
 * server: p50/p99 of GET /workflows/list idle and during each burst, each burst's p99 ÷ that run's
 * idle p99 (the figure to read on a shared machine), the burst's answers, and the load average.
 */
async function signUps(servers: { name: string; url: string }[]) {
  const taken = "taken@example.com";
  for (const { url } of servers) await fetch(`${url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: taken, password: "correct horse battery" }) });
  const burst = (url: string, emails: string[]) => () => Promise.all(emails.map((email) => fetch(`${url}/api/signup`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: "correct horse battery" }) }).then((response) => response.status)));
  type Sample = { run: number; load1: number; p50: number; p99: number; answers?: Record<number, number> };
  const samples: Record<string, Record<string, Sample[]>> = Object.fromEntries(servers.map(({ name }) => [name, { idle: [], taken: [], fresh: [] }]));
  for (let run = 0; run < RUNS; run++) {
    for (const phase of ["idle", "taken", "fresh"] as const) {
      for (const { name, url } of servers) {
        const emails = phase === "taken" ? Array.from({ length: 40 }, () => taken) : Array.from({ length: 40 }, (_, i) => `fresh-${run}-${i}@example.com`);
        let answers: number[] = [];
        const load1 = os.loadavg()[0]!;
        const load = phase === "idle" ? undefined : async () => (answers = await burst(url, emails)());
        const { p50, p99 } = await latencyDuring(url, load);
        const counted = answers.reduce<Record<number, number>>((counts, status) => ({ ...counts, [status]: (counts[status] ?? 0) + 1 }), {});
        samples[name]![phase]!.push({ run, load1: Number(load1.toFixed(2)), p50: Math.round(p50), p99: Math.round(p99), ...(phase !== "idle" && { answers: counted }) });
        process.stderr.write(`  run ${run + 1} ${name} ${phase}: p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms, load ${load1.toFixed(2)}${phase === "idle" ? "" : `, answers ${JSON.stringify(counted)}`}\n`);
      }
      // Let the per-address bucket refill between bursts.
      if (phase !== "idle") await sleep(61_000);
    }
  }
  return Object.fromEntries(
    Object.entries(samples).map(([name, phases]) => {
      const idle = phases.idle!;
      const summary = Object.fromEntries(
        Object.entries(phases).map(([phase, list]) => [
          phase,
          {
            p50Ms: median(list.map((sample) => sample.p50)),
            p99Ms: median(list.map((sample) => sample.p99)),
            ...(phase !== "idle" && { p99OverIdle: Number(median(list.map((sample, i) => sample.p99 / Math.max(1, idle[i]!.p99))).toFixed(2)) }),
            runs: list,
          },
        ]),
      );
      return [name, summary];
    }),
  );
}

const loadAtStart = os.loadavg().map((x) => x.toFixed(2));
const database = await createTestDatabase("sqlite");
await useTestEnvironment(database);
const tokens = [];
for (let i = 0; i < 17; i++) tokens.push((await createUserWithToken(`stall-${i}@example.com`)).token);
await closeTestEnvironment();
const tmp = mkdtempSync(path.join(os.tmpdir(), "montage-exhaustion-"));
const serverEnv = { DATABASE_URL: database.url, DATA_DIR: database.dataDir, TMPDIR: tmp, UPLOAD_BODY_TIMEOUT_SECONDS: "20", LOG_LEVEL: "warn" };
const server = await startServer(serverEnv);
const port = Number(new URL(server.url).port);
/** More builds for the sign-up section, each on a database of its own (the first build is this server). */
const distDirs = (process.env.SIGNUP_DIST_DIRS ?? "").split(",").filter(Boolean);
const extra: { name: string; server: RunningServer; drop(): Promise<void> }[] = [];
try {
  const signUpServers = [{ name: process.env.MONTAGE_DIST_DIR || ".next", url: server.url }];
  if (SECTIONS.includes("signups")) {
    for (const distDir of distDirs.slice(1)) {
      const own = await createTestDatabase("sqlite");
      const previous = process.env.MONTAGE_DIST_DIR;
      process.env.MONTAGE_DIST_DIR = distDir;
      try {
        extra.push({ name: distDir, server: await startServer({ ...serverEnv, DATABASE_URL: own.url, DATA_DIR: own.dataDir }), drop: () => own.drop() });
      } finally {
        if (previous === undefined) delete process.env.MONTAGE_DIST_DIR;
        else process.env.MONTAGE_DIST_DIR = previous;
      }
      signUpServers.push({ name: distDir, url: extra.at(-1)!.server.url });
    }
  }
  const results = {
    machine: { nproc: os.availableParallelism(), loadAtStart },
    bodies: SECTIONS.includes("bodies") ? await bodies(server, port) : "skipped",
    stalled: SECTIONS.includes("stalled") ? await stalledUploads(server, port, tokens, tmp) : "skipped",
    signUps: SECTIONS.includes("signups") ? await signUps(signUpServers) : "skipped",
    uncaughtInServerLog: server.uncaught().length + extra.reduce((sum, { server: other }) => sum + other.uncaught().length, 0),
    loadAtEnd: os.loadavg().map((x) => x.toFixed(2)),
  };
  console.log(JSON.stringify(results, null, 2));
} finally {
  for (const { server: other, drop } of extra) {
    await other.stop().catch((error: unknown) => console.error(error));
    await drop();
  }
  await server.stop().catch((error: unknown) => console.error(error));
  await database.drop();
  rmSync(tmp, { recursive: true, force: true });
}
