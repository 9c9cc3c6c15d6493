import "server-only";
import type { Readable } from "node:stream";
import busboy from "busboy";
import { checkDeclaredLength, DISCARD_AFTER_REFUSAL } from "@/lib/api/body";
import { ApiError, isApiError } from "@/lib/api/errors";
import { SpillBuffer } from "@/lib/api/spill";

export interface MultipartFile {
  field: string;
  /** The client's file name, checked, for display only. Never used to build a path. */
  filename: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Map<string, string>;
  /** Every value of the fields the caller named repeatable, in order (they are not in `fields`). */
  lists: Map<string, string[]>;
  /** The files, in the order they arrived, one per field at most. */
  files: MultipartFile[];
}

export interface MultipartLimits {
  /** The largest file accepted, in bytes (exactly this many is accepted). */
  maxFileBytes: number;
  /** How many files the form may carry, each in a field of its own (default 1). */
  maxFiles?: number;
  maxFields: number;
  /** The longest field accepted, in bytes (exactly this many is accepted). */
  maxFieldBytes: number;
  /** Fields that may be sent more than once (e.g. approve_before). */
  repeatable?: readonly string[];
  /** The whole body must have arrived within this time, or the request is refused (408). */
  deadlineMs: number;
  /** File bytes past this many go to a temporary file instead of memory. */
  spillThresholdBytes: number;
}

// eslint-disable-next-line no-control-regex
const UNSAFE_FILENAME = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069/\\]/;

/**
 * The client's file name is only ever displayed, but one carrying a path, control characters or
 * bidi overrides is hostile (or broken): it is refused rather than silently rewritten.
 */
export function checkFilename(name: string): string {
  const trimmed = name.trim();
  if (UNSAFE_FILENAME.test(trimmed) || trimmed === "." || trimmed === "..") {
    throw new ApiError("invalid_form", "The file name must not contain paths or control characters.");
  }
  if (trimmed.length > 255) throw new ApiError("invalid_form", "The file name is longer than 255 characters.");
  return trimmed || "upload";
}

/**
 * Parses a multipart/form-data body while it streams in, refusing it (413) as soon as a file
 * passes the limit instead of buffering the whole request first. Accepts up to `maxFiles` files,
 * one per field, whose bytes are held in memory only up to a small threshold and in a temporary
 * file past it, so a stalled upload pins almost nothing; the whole body is bounded by the files'
 * and the fields' limits, and must arrive within a deadline (408).
 *
 * Every way this can go wrong (a refused part, a body cut inside a part, a client that goes away,
 * the deadline) ends in exactly one rejected promise with an ApiError, never in an exception
 * thrown from an event handler.
 */
export async function parseMultipart(request: Request, limits: MultipartLimits): Promise<MultipartForm> {
  const contentType = request.headers.get("content-type") ?? "";
  if (!contentType.toLowerCase().startsWith("multipart/form-data")) {
    throw new ApiError("unsupported_media_type", "Send the request as multipart/form-data with fields workflow_id and file.");
  }
  const overhead = limits.maxFields * limits.maxFieldBytes + 64 * 1024;
  checkDeclaredLength(request, (limits.maxFiles ?? 1) * limits.maxFileBytes + overhead);
  if (!request.body) throw new ApiError("invalid_form", "The request has no body.");

  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: { "content-type": contentType },
      // Keep the name as sent, so that a hostile one is seen and refused rather than trimmed.
      preservePath: true,
      // Browsers send file names as raw UTF-8; busboy's default (latin1) turns them into mojibake,
      // which would also hide a bidi override from the check above.
      defParamCharset: "utf8",
      // busboy reports a limit when a part REACHES it: one more byte, so that exactly the
      // advertised maximum is accepted and one byte past it is not.
      limits: { files: limits.maxFiles ?? 1, fileSize: limits.maxFileBytes + 1, fields: limits.maxFields, fieldSize: limits.maxFieldBytes + 1, parts: limits.maxFields + (limits.maxFiles ?? 1) },
    });
  } catch (error) {
    throw new ApiError("invalid_form", `Malformed multipart request: ${(error as Error).message}`);
  }
  return new MultipartReader(request.body, parser, limits).read();
}

/** One multipart body being read: pumps the request's bytes into busboy and collects the parts. */
class MultipartReader {
  private readonly fields = new Map<string, string>();
  private readonly lists = new Map<string, string[]>();
  private readonly files: { field: string; filename: string; spill: SpillBuffer; done: Promise<void> }[] = [];
  private failure: ApiError | undefined;
  private parserClosed: Promise<void>;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private bodyEnded = false;

  constructor(
    body: ReadableStream<Uint8Array>,
    private readonly parser: busboy.Busboy,
    private readonly limits: MultipartLimits,
  ) {
    this.reader = body.getReader();
    this.parserClosed = new Promise<void>((resolve) => parser.once("close", resolve));
    parser.on("field", (name, value, info) => {
      if (info.valueTruncated) return this.fail(new ApiError("invalid_form", `Field ${name} is longer than ${limits.maxFieldBytes} bytes.`));
      if (limits.repeatable?.includes(name)) {
        this.lists.set(name, [...(this.lists.get(name) ?? []), value]);
        return;
      }
      if (this.fields.has(name)) return this.fail(new ApiError("invalid_form", `Field ${name} is sent twice.`));
      this.fields.set(name, value);
    });
    parser.on("file", (field, stream, info) => this.onFile(field, stream, info.filename));
    parser.on("filesLimit", () => this.fail(new ApiError("invalid_form", limits.maxFiles && limits.maxFiles > 1 ? `Send at most ${limits.maxFiles} files.` : "Send exactly one file.")));
    parser.on("fieldsLimit", () => this.fail(new ApiError("invalid_form", "Too many form fields.")));
    parser.on("partsLimit", () => this.fail(new ApiError("invalid_form", "Too many form parts.")));
    parser.on("error", (error: Error) => this.fail(new ApiError("invalid_form", `Malformed multipart request: ${error.message}`)));
  }

  private fail(error: ApiError): void {
    this.failure ??= error;
  }

  private onFile(field: string, stream: Readable, filename: string | undefined): void {
    // Every file stream gets an error listener: busboy destroys it with "Unexpected end of form"
    // when the body ends inside the part, which would otherwise be an uncaught exception.
    stream.on("error", (error: Error) => this.fail(new ApiError("invalid_form", `The file part is incomplete: ${error.message}`)));
    if (this.failure) {
      stream.resume();
      return;
    }
    if (this.files.some((file) => file.field === field)) {
      stream.resume();
      return this.fail(new ApiError("invalid_form", (this.limits.maxFiles ?? 1) > 1 ? `The file field ${field.slice(0, 64)} is sent twice.` : "Send exactly one file."));
    }
    let checkedName: string;
    try {
      // Checked before a byte of the file is kept: a refused name costs nothing to refuse.
      checkedName = checkFilename(filename ?? "");
    } catch (error) {
      stream.resume();
      return this.fail(error as ApiError);
    }
    const spill = new SpillBuffer(this.limits.spillThresholdBytes);
    const named = (this.limits.maxFiles ?? 1) > 1 ? `The file in ${field.slice(0, 64)}` : "The file";
    stream.on("limit", () => this.fail(new ApiError("payload_too_large", `${named} is larger than ${this.limits.maxFileBytes} bytes.`)));
    const done = (async () => {
      try {
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          if (this.failure) continue; // drain: busboy waits for its file stream to be read
          await spill.write(chunk);
        }
      } catch (error) {
        this.fail(isApiError(error) ? error : new ApiError("invalid_form", `The file part is incomplete: ${(error as Error).message}`));
      }
    })();
    this.files.push({ field, filename: checkedName, spill, done });
  }

  /** Writes one chunk into busboy, waiting when it asks for a pause (its file stream is being written out). */
  private async feed(chunk: Uint8Array): Promise<void> {
    const ok = this.parser.write(chunk);
    if (ok) return;
    await new Promise<void>((resolve) => {
      const go = () => {
        this.parser.off("drain", go);
        this.parser.off("close", go);
        this.parser.off("error", go);
        resolve();
      };
      this.parser.on("drain", go);
      this.parser.on("close", go);
      this.parser.on("error", go);
    });
  }

  async read(): Promise<MultipartForm> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"deadline">((resolve) => {
      timer = setTimeout(() => resolve("deadline"), this.limits.deadlineMs);
      timer.unref();
    });
    try {
      const outcome = await Promise.race([this.pump(), deadline]);
      if (outcome === "deadline") this.fail(new ApiError("request_timeout", `The upload did not arrive within ${Math.round(this.limits.deadlineMs / 1000)} s.`));
      if (!this.failure) {
        await Promise.all(this.files.map((file) => file.done));
      }
      if (this.failure) throw this.failure;
      const files: MultipartFile[] = [];
      for (const file of this.files) files.push({ field: file.field, filename: file.filename, data: await file.spill.contents() });
      return { fields: this.fields, lists: this.lists, files };
    } finally {
      clearTimeout(timer);
      // The rest of the body is not wanted, but it is on its way: read and dropped for a little
      // while (as a server's lingering close does), so that an honest client that sent a little
      // too much keeps its connection; a stream merely cancelled left the connection unread and a
      // keep-alive client's next request on it waited 5 s, then failed.
      if (!this.bodyEnded) void discardRest(this.reader);
      if (!this.parser.destroyed) this.parser.destroy();
      for (const file of this.files) void file.spill.discard();
    }
  }

  /** Reads the body to its end (or to the first failure) and lets busboy finish the form. */
  private async pump(): Promise<"done"> {
    try {
      while (!this.failure) {
        const { done, value } = await this.reader.read();
        if (done) {
          this.bodyEnded = true;
          break;
        }
        await this.feed(value);
      }
    } catch (error) {
      this.fail(new ApiError("invalid_form", `The upload was interrupted: ${(error as Error).message}`));
    }
    if (this.failure) return "done";
    this.parser.end();
    await Promise.race([this.parserClosed, new Promise<void>((resolve) => this.parser.once("error", () => resolve()))]);
    return "done";
  }
}

async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<"time">((resolve) => {
    timer = setTimeout(() => resolve("time"), DISCARD_AFTER_REFUSAL.ms);
    timer.unref();
  });
  let dropped = 0;
  try {
    while (dropped <= DISCARD_AFTER_REFUSAL.bytes) {
      const next = await Promise.race([reader.read(), timeUp]);
      if (next === "time" || next.done) break;
      dropped += next.value.byteLength;
    }
  } catch {
    // the client went away
  } finally {
    clearTimeout(timer);
  }
  await reader.cancel().catch(() => undefined);
}
