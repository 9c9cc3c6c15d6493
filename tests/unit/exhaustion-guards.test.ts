import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readBodyLimited } from "@/lib/api/body";
import { isApiError } from "@/lib/api/errors";
import { parseMultipart, type MultipartLimits } from "@/lib/api/multipart";
import { SpillBuffer } from "@/lib/api/spill";
import { pathDecodes } from "@/lib/server/http-guard";
import { AuthThrottle } from "@/lib/auth/throttle";
import { sweepOrphanedTempFiles } from "@/lib/temp-files";
import { characterCount } from "@/lib/workflows/public";

const scratch = mkdtempSync(path.join(tmpdir(), "montage-guards-test-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return isApiError(error) ? `${error.status} ${error.code}` : `thrown: ${String(error)}`;
  }
}

/** A request whose body arrives in the given pieces (no Content-Length: counted while it streams). */
function streamed(pieces: Buffer[], headers: Record<string, string> = {}): Request {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(new Uint8Array(piece));
      controller.close();
    },
  });
  return new Request("http://localhost/x", { method: "POST", body, headers, duplex: "half" } as RequestInit);
}

describe("readBodyLimited", () => {
  it("accepts exactly the limit, refuses one byte more while streaming and a larger Content-Length before reading", async () => {
    expect((await readBodyLimited(streamed([Buffer.alloc(600), Buffer.alloc(424)]), 1024)).byteLength).toBe(1024);
    expect(await codeOf(readBodyLimited(streamed([Buffer.alloc(600), Buffer.alloc(425)]), 1024))).toBe("413 payload_too_large");
    expect(await codeOf(readBodyLimited(new Request("http://localhost/x", { method: "POST", body: "x", headers: { "content-length": "1025" } }), 1024))).toBe("413 payload_too_large");
  });
});

describe("parseMultipart", () => {
  const limits: MultipartLimits = { maxFileBytes: 1000, maxFields: 5, maxFieldBytes: 100, deadlineMs: 5000, spillThresholdBytes: 256 };
  const boundary = "b0undary";
  const head = (name: string, filename?: string) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"${filename === undefined ? "" : `; filename="${filename}"`}\r\n\r\n`);
  const end = Buffer.from(`\r\n--${boundary}--\r\n`);
  const form = (pieces: Buffer[]) => parseMultipart(streamed(pieces, { "content-type": `multipart/form-data; boundary=${boundary}` }), limits);

  it("accepts a file of exactly the maximum (spilled past the threshold) and a field of exactly its maximum", async () => {
    const file = Buffer.alloc(1000, 7);
    const parsed = await form([head("note"), Buffer.from("x".repeat(100)), Buffer.from("\r\n"), head("file", "a.jpg"), file, end]);
    expect(parsed.fields.get("note")).toHaveLength(100);
    expect(parsed.files.map((sent) => sent.field)).toEqual(["file"]);
    expect(parsed.files[0]?.data.equals(file)).toBe(true);
    expect(await codeOf(form([head("file", "a.jpg"), Buffer.alloc(1001), end]))).toBe("413 payload_too_large");
    expect(await codeOf(form([head("note"), Buffer.from("x".repeat(101)), end]))).toBe("400 invalid_form");
  });

  it("takes several files when allowed, one per field, each within the file limit; one file by default", async () => {
    const several = (pieces: Buffer[]) => parseMultipart(streamed(pieces, { "content-type": `multipart/form-data; boundary=${boundary}` }), { ...limits, maxFiles: 2 });
    const [a, b] = [Buffer.alloc(1000, 1), Buffer.alloc(600, 2)];
    const parsed = await several([head("file", "a.jpg"), a, Buffer.from("\r\n"), head("style", "b.jpg"), b, end]);
    expect(parsed.files.map((sent) => [sent.field, sent.filename, sent.data.length])).toEqual([["file", "a.jpg", 1000], ["style", "b.jpg", 600]]);
    expect(parsed.files[1]!.data.equals(b)).toBe(true);
    // The second file past the limit is 413 as the first would be; a field sent twice, or a third file, is 400.
    expect(await codeOf(several([head("file", "a.jpg"), a, Buffer.from("\r\n"), head("style", "b.jpg"), Buffer.alloc(1001), end]))).toBe("413 payload_too_large");
    expect(await codeOf(several([head("file", "a.jpg"), a, Buffer.from("\r\n"), head("file", "b.jpg"), b, end]))).toBe("400 invalid_form");
    expect(await codeOf(several([head("a", "a.jpg"), b, Buffer.from("\r\n"), head("b", "b.jpg"), b, Buffer.from("\r\n"), head("c", "c.jpg"), b, end]))).toBe("400 invalid_form");
    expect(await codeOf(form([head("file", "a.jpg"), a, Buffer.from("\r\n"), head("style", "b.jpg"), b, end]))).toBe("400 invalid_form");
  });

  it("ends every error path in its ApiError: a refused file name after the whole body, a body cut inside the file", async () => {
    for (let i = 0; i < 20; i++) expect(await codeOf(form([head("file", "../evil.jpg"), Buffer.alloc(500), end]))).toBe("400 invalid_form");
    expect(await codeOf(form([head("file", "a.jpg"), Buffer.alloc(500)]))).toBe("400 invalid_form");
  });

  it("refuses a body that does not arrive within the deadline with 408", async () => {
    const never = new ReadableStream<Uint8Array>({ start: (controller) => controller.enqueue(new Uint8Array(head("file", "a.jpg"))) });
    const request = new Request("http://localhost/x", { method: "POST", body: never, headers: { "content-type": `multipart/form-data; boundary=${boundary}` }, duplex: "half" } as RequestInit);
    expect(await codeOf(parseMultipart(request, { ...limits, deadlineMs: 200 }))).toBe("408 request_timeout");
  });
});

describe("SpillBuffer", () => {
  it("keeps bytes in memory up to the threshold, then in a file it removes", async () => {
    const spill = new SpillBuffer(10, scratch);
    await spill.write(Buffer.from("0123456789"));
    expect(spill.spilled).toBe(false);
    await spill.write(Buffer.from("abc"));
    expect(spill.spilled).toBe(true);
    expect(readdirSync(scratch).filter((name) => name.startsWith(`montage-upload-${process.pid}-`))).toHaveLength(1);
    expect((await spill.contents()).toString()).toBe("0123456789abc");
    expect(readdirSync(scratch).filter((name) => name.startsWith("montage-upload-"))).toHaveLength(0);
  });
});

describe("sweepOrphanedTempFiles", () => {
  it("removes the files of dead processes and keeps a live one's and other files", async () => {
    const dir = path.join(scratch, "sweep");
    mkdirSync(dir);
    mkdirSync(path.join(dir, "montage-video-999999999-x"));
    writeFileSync(path.join(dir, "montage-upload-999999999-y"), "");
    writeFileSync(path.join(dir, `montage-upload-${process.pid}-z`), "");
    writeFileSync(path.join(dir, "unrelated"), "");
    expect((await sweepOrphanedTempFiles(dir)).sort()).toEqual(["montage-upload-999999999-y", "montage-video-999999999-x"]);
    expect(readdirSync(dir).sort()).toEqual([`montage-upload-${process.pid}-z`, "unrelated"]);
  });
});

describe("AuthThrottle", () => {
  it("limits per address and per email, and slows an account after its allowed failures", () => {
    let now = 0;
    const throttle = new AuthThrottle({ RATE_LIMIT_AUTH_PER_IP_PER_MINUTE: 3, RATE_LIMIT_AUTH_PER_EMAIL_PER_MINUTE: 2, SIGNIN_FAILURES_BEFORE_DELAY: 2 }, { now: () => now });
    const attempt = (address: string, email?: string) => {
      try {
        throttle.requireAttempt(address, email);
        return "ok";
      } catch (error) {
        return isApiError(error) ? `${error.status} ${error.headers["Retry-After"]}` : "thrown";
      }
    };
    expect([attempt("a"), attempt("a"), attempt("a"), attempt("a")]).toEqual(["ok", "ok", "ok", "429 20"]);
    expect([attempt("b", "x@example.com"), attempt("c", "x@example.com"), attempt("d", "x@example.com")]).toEqual(["ok", "ok", "429 30"]);
    throttle.recordFailure("y@example.com");
    expect(attempt("e", "y@example.com")).toBe("ok");
    throttle.recordFailure("y@example.com");
    expect(attempt("f", "y@example.com")).toBe("429 5");
    now += 5_000;
    throttle.recordFailure("y@example.com");
    expect(attempt("g", "y@example.com")).toBe("429 10");
    throttle.recordSuccess("y@example.com");
    now += 60_000;
    expect(attempt("h", "y@example.com")).toBe("ok");
  });
});

describe("small rules", () => {
  it("pathDecodes and characterCount", () => {
    expect(pathDecodes("/jobs/%zz/stream")).toBe(false);
    expect(pathDecodes("/files/%c0%ae")).toBe(false);
    expect(pathDecodes("/files/jobs/a%2Fb?q=%zz")).toBe(true);
    expect(characterCount("🎬a\r\nb")).toBe(4);
  });
});
