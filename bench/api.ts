/**
 * Section 4: the HTTP API under load (autocannon) on `next start` with SQLite: POST
 * /workflows/execute with a 1 MB JPEG, GET /workflows/execution/<id>, and GET /api/live, a route
 * that does nothing: the framework's own floor, in the same build. The jobs the POSTs create wait
 * in their image-edit step (a slow fault, one at a time) so that the figures are about the API,
 * not about image and video work competing for the 2 cores. Then, on a server of its own, the
 * time from POST /workflows/execute answering to the job's first step starting.
 */
import { randomBytes } from "node:crypto";
import os from "node:os";
import autocannon from "autocannon";
import sharp from "sharp";
import { createTestDatabase } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createBenchUser } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";
import { sleep, summarize, type Summary } from "./lib/stats";

const PORT = sizes.portBase + 21;

/** A JPEG of about 1 MB: noise does not compress, so the size follows the pixel count. */
async function oneMegabyteJpeg(): Promise<Buffer> {
  let side = 600;
  for (let attempt = 0; attempt < 4; attempt++) {
    const jpeg = await sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
    if (Math.abs(jpeg.length - 1_000_000) < 60_000) return jpeg;
    side = Math.round(side * Math.sqrt(1_000_000 / jpeg.length));
  }
  return sharp(randomBytes(side * side * 3), { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toBuffer();
}

function multipart(jpeg: Buffer): { body: Buffer; contentType: string } {
  const boundary = `----montagebench${randomBytes(8).toString("hex")}`;
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="workflow_id"\r\n\r\nimg-edit-to-video\r\n`),
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
    jpeg,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

interface LoadResult {
  name: string;
  connections: number;
  seconds: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** One row of medians for the rounds of one scenario (req/s, p50 and p99 each the median of the rounds'). */
function medianLoad(results: LoadResult[]): LoadResult {
  const first = results[0]!;
  return {
    ...first,
    name: results.length > 1 ? `${first.name} (median of ${results.length} rounds)` : first.name,
    requestsPerSecond: median(results.map((r) => r.requestsPerSecond)),
    p50: median(results.map((r) => r.p50)),
    p99: median(results.map((r) => r.p99)),
    non2xx: results.reduce((sum, r) => sum + r.non2xx, 0),
    errors: results.reduce((sum, r) => sum + r.errors, 0),
  };
}

async function load(name: string, options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon(options);
  process.stderr.write(`  ${name}: ${Math.round(result.requests.average)}/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ${result.non2xx} non-2xx, load average ${os.loadavg()[0]!.toFixed(2)}\n`);
  return {
    name,
    connections: options.connections ?? 10,
    seconds: options.duration as number,
    requestsPerSecond: Math.round(result.requests.average),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
  };
}

export async function runApiSection({ rows, results, log, load: machineLoad }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void; load: "quiet" | "busy" }): Promise<void> {
  const section = `4 API (${machineLoad})`;
  const testDb = await createTestDatabase("sqlite");
  const { token, close } = await createBenchUser(testDb, "bench-api@example.com");
  const jpeg = await oneMegabyteJpeg();
  const { body, contentType } = multipart(jpeg);
  const loads: LoadResult[] = [];
  const rounds: { loadAverage: number; floor: LoadResult; read: LoadResult; ratio: number }[] = [];
  log(`api (${machineLoad}): next start`);
  const server = await startServer(
    {
      DATABASE_URL: testDb.url,
      DATA_DIR: testDb.dataDir,
      LOG_LEVEL: "warn",
      // The per-user limits would refuse a benchmark's load by design: off here.
      RATE_LIMIT_EXECUTES_PER_MINUTE: "0",
      RATE_LIMIT_CONCURRENT_STREAMS: "0",
      // Without this, 8 connections against the default of 3 uploads in flight measured mostly 429s.
      RATE_LIMIT_CONCURRENT_UPLOADS: "0",
      WORKFLOW_CONCURRENCY: "1",
      LOCAL_PROVIDER_FAULTS: "image_edit:slow=600000",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "3600",
    },
    PORT,
  );
  try {
    const first = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: new Uint8Array(body), headers: { authorization: `Bearer ${token}`, "content-type": contentType } });
    if (first.status !== 202) throw new Error(`POST /workflows/execute answered ${first.status}: ${await first.text()}`);
    const { job_id: jobId } = (await first.json()) as { job_id: string };
    log(`api (${machineLoad}): POST /workflows/execute`);
    loads.push(
      await load("POST /workflows/execute (1 MB JPEG)", {
        url: `${server.url}/workflows/execute`,
        method: "POST",
        body,
        headers: { authorization: `Bearer ${token}`, "content-type": contentType },
        connections: 8,
        duration: sizes.apiSeconds,
      }),
    );
    // Both routes once under load before measuring: the first seconds on a fresh server (lazy chunks,
    // JIT) made round 1's floor about half the later rounds'.
    const warmUp = { connections: 32, duration: Math.min(3, sizes.apiSeconds) };
    await autocannon({ url: `${server.url}/api/live`, ...warmUp });
    await autocannon({ url: `${server.url}/workflows/execution/${jobId}`, headers: { authorization: `Bearer ${token}` }, ...warmUp });
    // The floor and the read alternate, round after round, so that both see the same machine.
    for (let round = 1; round <= sizes.apiRounds; round++) {
      const loadAverage = os.loadavg()[0]!;
      log(`api (${machineLoad}): round ${round}: GET /api/live (the framework's floor), then GET /workflows/execution/<id>`);
      const floor = await load("GET /api/live (trivial route: the floor)", { url: `${server.url}/api/live`, connections: 32, duration: sizes.apiSeconds });
      const read = await load("GET /workflows/execution/<id>", {
        url: `${server.url}/workflows/execution/${jobId}`,
        headers: { authorization: `Bearer ${token}` },
        connections: 32,
        duration: sizes.apiSeconds,
      });
      rounds.push({ loadAverage, floor, read, ratio: floor.requestsPerSecond / Math.max(1, read.requestsPerSecond) });
    }
    loads.push(medianLoad(rounds.map((r) => r.floor)), medianLoad(rounds.map((r) => r.read)));
  } finally {
    await server.stop();
    await close();
    await testDb.drop();
  }
  log(`api (${machineLoad}): POST /workflows/execute answered → first step starts`);
  const firstStep = await executeToFirstStep(jpeg);
  results[machineLoad === "busy" ? "apiBusy" : "api"] = { loadAverage: os.loadavg(), imageBytes: jpeg.length, loads, rounds, firstStep };
  for (const l of loads) {
    rows.push({
      section,
      metric: `${l.name}, ${l.connections} connections, ${l.seconds} s: req/s; p50 / p99${l.non2xx || l.errors ? `; ${l.non2xx} non-2xx, ${l.errors} errors` : ""}`,
      value: `${l.requestsPerSecond}/s; ${ms(l.p50)} / ${ms(l.p99)}`,
    });
  }
  const floor = loads.find((l) => l.name.startsWith("GET /api/live"));
  const read = loads.find((l) => l.name.startsWith("GET /workflows/execution"));
  if (floor && read) {
    const ratios = rounds.map((r) => r.ratio);
    const ratio = median(ratios);
    rows.push({
      section,
      metric: `GET /workflows/execution/<id> against the trivial route of the same build: floor req/s ÷ execution read req/s${rounds.length > 1 ? `, median of ${rounds.length} alternated rounds (each round's ratio; load average at each)` : ""}`,
      value: `${ratio.toFixed(2)}× (p50 ${ms(read.p50)} against ${ms(floor.p50)})${rounds.length > 1 ? `; ${rounds.map((r) => `${r.ratio.toFixed(2)}× at ${r.loadAverage.toFixed(1)}`).join(", ")}` : ""}`,
      target: "≤ 2×",
      met: ratio <= 2,
    });
  }
  rows.push({
    section,
    metric: `POST /workflows/execute answered → first step starts, p50 / p99 (${firstStep.samples.length} jobs, one at a time; negative: started before the answer arrived)`,
    value: `${ms(firstStep.summary.p50)} / ${ms(firstStep.summary.p99)}`,
  });
  rows.push({
    section,
    metric: "POST /workflows/execute sent (1 MB JPEG) → first step starts, p50 / p99",
    value: `${ms(firstStep.fromRequest.p50)} / ${ms(firstStep.fromRequest.p99)}`,
  });
}

/**
 * From POST /workflows/execute's answer (the client's clock) to the job's first step starting
 * (the step-start event's commit time, on the same machine's clock), one job at a time on an
 * idle server. The workflow's second step fails at once (a hard fault), so nothing heavy runs.
 */
async function executeToFirstStep(jpeg: Buffer): Promise<{ samples: number[]; summary: Summary; fromRequest: Summary }> {
  const testDb = await createTestDatabase("sqlite");
  const { token, close, store } = await createBenchUser(testDb, "bench-first-step@example.com");
  const server = await startServer(
    { DATABASE_URL: testDb.url, DATA_DIR: testDb.dataDir, LOG_LEVEL: "warn", RATE_LIMIT_EXECUTES_PER_MINUTE: "0", LOCAL_PROVIDER_FAULTS: "image_edit:hard:99999", WORKFLOW_RETRY_INTERVAL_SECONDS: "3600" },
    PORT,
  );
  const samples: number[] = [];
  const fromRequest: number[] = [];
  try {
    const { body, contentType } = multipart(jpeg);
    for (let i = 0; i < sizes.firstStepSamples + 3; i++) {
      const sentAt = Date.now();
      const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: new Uint8Array(body), headers: { authorization: `Bearer ${token}`, "content-type": contentType } });
      const answeredAt = Date.now();
      if (response.status !== 202) throw new Error(`POST /workflows/execute answered ${response.status}`);
      const { job_id: jobId } = (await response.json()) as { job_id: string };
      let startedAt: number | undefined;
      // The first step's checkpoint row records when the server started it (its clock; this machine's).
      for (const deadline = Date.now() + 10_000; startedAt === undefined && Date.now() < deadline; ) {
        startedAt = (await store.getJob(jobId))?.checkpoints.find((row) => row.stepIndex === 0)?.startedAt?.getTime();
        if (startedAt === undefined) await sleep(2);
      }
      // Wait for the job to end, so the next one finds the runner idle.
      for (const deadline = Date.now() + 10_000; Date.now() < deadline && !["failed", "completed"].includes((await store.readJobState(jobId))?.status ?? ""); ) await sleep(5);
      if (startedAt === undefined) throw new Error(`job ${jobId}'s first step did not start`);
      // The first few warm the server up. Negative: the step had started before the answer arrived.
      if (i >= 3) {
        samples.push(startedAt - answeredAt);
        fromRequest.push(startedAt - sentAt);
      }
    }
  } finally {
    await server.stop();
    await close();
    await testDb.drop();
  }
  return { samples, summary: summarize(samples), fromRequest: summarize(fromRequest) };
}
