import net from "node:net";
import { ERROR_STATUS } from "@/lib/api/errors";
import { errorBodySchema } from "@/lib/api/schemas";

/** HTTP helpers for the hostile-input and authorization suites: raw sockets and hand-built bodies. */

export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export interface MultipartPart {
  name: string;
  value?: string | Buffer;
  /** Written into the header as given (raw bytes, no escaping), to send names browsers would never send. */
  filename?: string;
  /** A raw Content-Disposition parameter tail instead of filename="…", e.g. filename*=UTF-8''… */
  dispositionTail?: string;
  contentType?: string;
}

export const BOUNDARY = "----montage-hostile-7d3f";

/** A multipart/form-data body built byte by byte, so that names and framing can be anything. */
export function multipart(parts: MultipartPart[], boundary = BOUNDARY): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    let disposition = `form-data; name="${part.name}"`;
    if (part.filename !== undefined) disposition += `; filename="${part.filename}"`;
    if (part.dispositionTail !== undefined) disposition += `; ${part.dispositionTail}`;
    let head = `--${boundary}\r\nContent-Disposition: ${disposition}\r\n`;
    if (part.contentType) head += `Content-Type: ${part.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`, "utf8"), Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value ?? "", "utf8"), Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** A response read whole, headers lower-cased. */
export async function answerOf(response: Response): Promise<Answer> {
  return { status: response.status, headers: Object.fromEntries(response.headers), body: await response.text() };
}

/** True when the body is Montage's one error shape with a code whose mapped status is `status`. */
export function isErrorShape(answer: Answer): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return false;
  }
  const result = errorBodySchema.safeParse(parsed);
  return result.success && ERROR_STATUS[result.data.error.code] === answer.status;
}

function parseHead(raw: Buffer): { status: number; headers: Record<string, string>; headerEnd: number } | undefined {
  const headerEnd = raw.indexOf("\r\n\r\n");
  if (headerEnd === -1) return undefined;
  const lines = raw.subarray(0, headerEnd).toString("latin1").split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? "")?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { status, headers, headerEnd: headerEnd + 4 };
}

function decodeChunked(body: Buffer): Buffer | undefined {
  const out: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = body.indexOf("\r\n", offset);
    if (lineEnd === -1) return undefined;
    const size = parseInt(body.subarray(offset, lineEnd).toString("latin1"), 16);
    if (Number.isNaN(size)) return undefined;
    if (size === 0) return Buffer.concat(out);
    if (body.length < lineEnd + 2 + size + 2) return undefined;
    out.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
}

/** The first complete response in `raw`, if there is one yet. */
function completeAnswer(raw: Buffer, closed: boolean): Answer | undefined {
  const head = parseHead(raw);
  if (!head) return undefined;
  const rest = raw.subarray(head.headerEnd);
  let body: Buffer | undefined;
  if (head.headers["content-length"] !== undefined) {
    const length = Number(head.headers["content-length"]);
    if (rest.length >= length) body = rest.subarray(0, length);
  } else if (head.headers["transfer-encoding"]?.includes("chunked")) {
    body = decodeChunked(rest);
  } else if (closed) {
    body = rest;
  }
  return body === undefined ? undefined : { status: head.status, headers: head.headers, body: body.toString("utf8") };
}

export interface StreamedUpload {
  answer: Answer;
  /** Bytes of the body written before the answer arrived. */
  sentBytes: number;
}

/**
 * Writes a request through a raw socket: `head` (request line and headers, no blank line), then the
 * body from `chunks` one at a time, respecting backpressure, and stops writing as soon as a whole
 * response has arrived. Lets a test see that a body is refused while it is still being sent.
 */
export function sendRaw(port: number, head: string, chunks: Iterable<Buffer> = [], timeoutMs = 30_000): Promise<StreamedUpload> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let raw = Buffer.alloc(0);
    let sentBytes = 0;
    let done = false;
    let closed = false;
    const timer = setTimeout(() => finish(new Error(`no complete answer after ${timeoutMs} ms; received ${JSON.stringify(raw.toString("latin1").slice(0, 300))}`)), timeoutMs);
    const finish = (error?: Error) => {
      if (done) return;
      const answer = completeAnswer(raw, closed);
      if (!answer && !error) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (answer) resolve({ answer, sentBytes });
      else reject(error ?? new Error("no answer"));
    };
    socket.on("data", (data: Buffer) => {
      raw = Buffer.concat([raw, data]);
      finish();
    });
    socket.on("close", () => {
      closed = true;
      finish(new Error(`connection closed without a complete answer; received ${JSON.stringify(raw.toString("latin1").slice(0, 300))}`));
    });
    // Writing after the server answered and closed its side is expected: the answer is what counts.
    socket.on("error", () => undefined);
    socket.on("connect", () => {
      void (async () => {
        socket.write(`${head}\r\n\r\n`);
        for (const chunk of chunks) {
          if (done || socket.destroyed) return;
          sentBytes += chunk.length;
          if (!socket.write(chunk)) {
            await new Promise<void>((resume) => {
              const go = () => {
                socket.off("drain", go);
                socket.off("close", go);
                resume();
              };
              socket.on("drain", go);
              socket.on("close", go);
            });
          }
        }
      })();
    });
  });
}
