/**
 * Section 4: the HTTP API under load (autocannon) on `next start` with SQLite: POST
 * /workflows/execute with a 1 MB JPEG, and GET /workflows/execution/<id>. The jobs the POSTs
 * create wait in their image-edit step (a slow fault, one at a time) so that the figures are
 * about the API, not about image and video work competing for the 2 cores.
 */
import { randomBytes } from "node:crypto";
import autocannon from "autocannon";
import sharp from "sharp";
import { createTestDatabase } from "../tests/helpers/db";
import { startServer } from "../tests/helpers/server";
import { createBenchUser } from "./lib/processes";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";

const PORT = 3421;

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

async function load(name: string, options: autocannon.Options): Promise<LoadResult> {
  const result = await autocannon(options);
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

export async function runApiSection({ rows, results, log }: { rows: Row[]; results: Record<string, unknown>; log(message: string): void }): Promise<void> {
  const testDb = await createTestDatabase("sqlite");
  const { token, close } = await createBenchUser(testDb, "bench-api@example.com");
  const jpeg = await oneMegabyteJpeg();
  const { body, contentType } = multipart(jpeg);
  const loads: LoadResult[] = [];
  log("api: next start");
  const server = await startServer(
    {
      DATABASE_URL: testDb.url,
      DATA_DIR: testDb.dataDir,
      LOG_LEVEL: "warn",
      // The per-user limits would refuse a benchmark's load by design: off here.
      RATE_LIMIT_EXECUTES_PER_MINUTE: "0",
      RATE_LIMIT_CONCURRENT_STREAMS: "0",
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
    log("api: POST /workflows/execute");
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
    log("api: GET /workflows/execution/<id>");
    loads.push(
      await load("GET /workflows/execution/<id>", {
        url: `${server.url}/workflows/execution/${jobId}`,
        headers: { authorization: `Bearer ${token}` },
        connections: 32,
        duration: sizes.apiSeconds,
      }),
    );
  } finally {
    await server.stop();
    await close();
    await testDb.drop();
  }
  results.api = { imageBytes: jpeg.length, loads };
  for (const l of loads) {
    rows.push({
      section: "4 API",
      metric: `${l.name}, ${l.connections} connections, ${l.seconds} s: req/s; p50 / p99${l.non2xx || l.errors ? `; ${l.non2xx} non-2xx, ${l.errors} errors` : ""}`,
      value: `${l.requestsPerSecond}/s; ${ms(l.p50)} / ${ms(l.p99)}`,
    });
  }
}
