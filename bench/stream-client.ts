/**
 * One of the stream section's client processes (bench/stream.ts forks one per
 * BENCH_STREAM_CLIENT_SUBSCRIBERS subscribers), so that no single event loop holds every socket.
 * Each subscriber is a raw TCP socket that writes the HTTP request itself and scans the bytes it
 * receives for `"bench_seq":<n>` (the writer's number for the event), noting the receive time: no
 * HTTP client, no SSE parser, no strings. The latencies are computed here at the end, against the
 * commit times the writer recorded (bench/stream-writer.ts), and sent back sorted in one message.
 *
 * Messages (from the parent): open -> opened; report -> report (repeatable: the parent asks again
 * while events are still missing); close -> the process exits.
 */
import net from "node:net";

export interface ClientJob {
  index: number;
  id: string;
  token: string;
  /** Subscribers this process opens on the job. */
  count: number;
}

export type ClientRequest =
  | { type: "open"; host: string; port: number; jobs: ClientJob[]; inFlight: number }
  /** commits: [seq, job index, commit time] of the events committed inside the window [from, to]. */
  | { type: "report"; commits: [number, number, number][]; from: number; to: number; withLatencies: boolean }
  | { type: "close" };

export type ClientReply =
  | { type: "ready" }
  | { type: "opened"; connected: number; errors: number }
  | {
      type: "report";
      /** Deliveries of the window's events that arrived, and the ones due (window events × this process's subscribers on their job). */
      received: number;
      expected: number;
      /** Deliveries of any bench event that arrived inside the window (the denominator of CPU per event). */
      deliveredInWindow: number;
      dropped: number;
      /** Receive time minus commit time, ms, sorted; empty unless asked for. */
      latencies: number[];
    };

const clock = () => performance.timeOrigin + performance.now();
const MARKER = Buffer.from('"bench_seq":');
const OK = Buffer.from(" 200 ");

// Every delivery seen: the event's seq and its receive time, in two parallel arrays.
const seqs: number[] = [];
const times: number[] = [];
const sockets: net.Socket[] = [];
let dropped = 0;
let closing = false;

/** Scans `bytes` (with what was carried over from the previous chunk) and returns the bytes to carry. */
function scan(bytes: Buffer, at: number): Buffer | undefined {
  let from = 0;
  for (;;) {
    const found = bytes.indexOf(MARKER, from);
    if (found === -1) {
      // Keep a possible start of the marker for the next chunk.
      const keep = Math.max(from, bytes.length - MARKER.length + 1);
      return keep < bytes.length ? bytes.subarray(keep) : undefined;
    }
    let i = found + MARKER.length;
    while (i < bytes.length && bytes[i] === 0x20) i++; // PostgreSQL's jsonb text puts a space after the colon
    let seq = 0;
    const digits = i;
    while (i < bytes.length && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) seq = seq * 10 + bytes[i++]! - 0x30;
    if (i === bytes.length) return bytes.subarray(found); // the number may go on in the next chunk
    if (i > digits) {
      seqs.push(seq);
      times.push(at);
    }
    from = i;
  }
}

function openOne(host: string, port: number, job: ClientJob): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let status: boolean | undefined;
    let carry: Buffer | undefined;
    socket.setNoDelay(true);
    socket.on("connect", () => {
      socket.write(`GET /jobs/${job.id}/stream HTTP/1.1\r\nHost: ${host}:${port}\r\nAuthorization: Bearer ${job.token}\r\nAccept: text/event-stream\r\n\r\n`);
    });
    socket.on("data", (chunk: Buffer) => {
      const at = clock();
      if (status === undefined) {
        status = chunk.subarray(0, 16).includes(OK);
        resolve(status);
        if (!status) {
          socket.destroy();
          return;
        }
      }
      carry = scan(carry ? Buffer.concat([carry, chunk]) : chunk, at);
    });
    socket.on("close", () => {
      if (status === undefined) resolve(false);
      else if (status && !closing) dropped++;
    });
    socket.on("error", () => undefined);
    sockets.push(socket);
  });
}

async function open(request: Extract<ClientRequest, { type: "open" }>): Promise<ClientReply> {
  const queue = request.jobs.flatMap((job) => Array.from({ length: job.count }, () => job));
  let connected = 0;
  let errors = 0;
  for (let i = 0; i < queue.length; i += request.inFlight) {
    const results = await Promise.all(queue.slice(i, i + request.inFlight).map((job) => openOne(request.host, request.port, job)));
    connected += results.filter(Boolean).length;
    errors += results.filter((ok) => !ok).length;
  }
  return { type: "opened", connected, errors };
}

function report(request: Extract<ClientRequest, { type: "report" }>, perJob: Map<number, number>): ClientReply {
  const committedAt = new Map<number, number>();
  let expected = 0;
  for (const [seq, job, at] of request.commits) {
    committedAt.set(seq, at);
    expected += perJob.get(job) ?? 0;
  }
  const latencies: number[] = [];
  let received = 0;
  let deliveredInWindow = 0;
  for (let i = 0; i < seqs.length; i++) {
    const at = times[i]!;
    if (at >= request.from && at <= request.to) deliveredInWindow++;
    const committed = committedAt.get(seqs[i]!);
    if (committed === undefined) continue;
    received++;
    if (request.withLatencies) latencies.push(at - committed);
  }
  latencies.sort((a, b) => a - b);
  return { type: "report", received, expected, deliveredInWindow, dropped, latencies };
}

const perJob = new Map<number, number>();
process.on("message", (raw) => {
  const message = raw as ClientRequest;
  if (message.type === "open") {
    for (const job of message.jobs) perJob.set(job.index, (perJob.get(job.index) ?? 0) + job.count);
    void open(message).then((reply) => process.send!(reply));
  } else if (message.type === "report") {
    process.send!(report(message, perJob));
  } else {
    closing = true;
    for (const socket of sockets) socket.destroy();
    process.disconnect();
  }
});
process.send!({ type: "ready" } satisfies ClientReply);
