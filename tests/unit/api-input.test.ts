import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { checkImage, sniffImageType } from "@/lib/api/image-check";
import { checkFilename } from "@/lib/api/multipart";
import { parseLastEventId } from "@/lib/jobs/stream";
import { redact } from "@/lib/log";

describe("checkFilename", () => {
  it.each(["photo.jpg", "my holiday (1).png", "фото.webp", ""])("keeps %j", (name) => {
    expect(checkFilename(name)).toBe(name || "upload");
  });
  it.each(["../../etc/passwd", "C:\\Windows\\evil.png", "a\u0000b.png", "new\nline.png", "\u202egnp.exe", "..", "x".repeat(256)])(
    "refuses %j with a 400",
    (name) => {
      expect(() => checkFilename(name)).toThrow(expect.objectContaining({ status: 400 }));
    },
  );
});

describe("checkImage", () => {
  it("accepts a real PNG and reports its type and size by content", async () => {
    const png = await sharp({ create: { width: 40, height: 30, channels: 3, background: "#f59e0b" } }).png().toBuffer();
    await expect(checkImage(png, 1_000_000)).resolves.toEqual({ contentType: "image/png", width: 40, height: 30 });
  });

  it.each([
    ["an empty file", Buffer.alloc(0), 422],
    ["HTML", Buffer.from("<html><script>alert(1)</script></html>"), 415],
    ["SVG", Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'), 415],
    ["a GIF", Buffer.from("GIF89a\u0001\u0000\u0001\u0000"), 415],
  ])("refuses %s", async (_name, data, status) => {
    await expect(checkImage(data, 1_000_000)).rejects.toMatchObject({ status });
  });

  it("refuses a truncated JPEG", async () => {
    const jpeg = await sharp({ create: { width: 200, height: 200, channels: 3, background: "#123456" } }).jpeg().toBuffer();
    await expect(checkImage(jpeg.subarray(0, Math.floor(jpeg.length / 2)), 1_000_000)).rejects.toMatchObject({ status: 422 });
  });

  it("refuses a decompression bomb from its header, before decoding", async () => {
    const bomb = await sharp({ create: { width: 5000, height: 5000, channels: 3, background: "#000" } }).png({ compressionLevel: 9 }).toBuffer();
    expect(bomb.length).toBeLessThan(200_000);
    const error = await checkImage(bomb, 10_000_000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).message).toMatch(/5000×5000 pixels; the limit is 10000000/);
  });

  it("sniffs WebP by its RIFF header", () => {
    expect(sniffImageType(Buffer.from("RIFF\u0000\u0000\u0000\u0000WEBPVP8 "))).toBe("image/webp");
  });
});

describe("parseLastEventId", () => {
  it("accepts ids and nothing", () => {
    expect(parseLastEventId(null)).toBe(0);
    expect(parseLastEventId("")).toBe(0);
    expect(parseLastEventId(" 42 ")).toBe(42);
  });
  it.each(["-1", "abc", "1e3", "9".repeat(16), "1; DROP TABLE"])("refuses %j with a 400", (value) => {
    expect(() => parseLastEventId(value)).toThrow(expect.objectContaining({ status: 400 }));
  });
});

describe("redact", () => {
  it("removes tokens and secrets from log text", () => {
    const text = redact(
      "token mtg_abcdefghijklmnopqrstuvwxyz r8_ABCDEFGHIJ1234 whsec_c2VjcmV0c2VjcmV0 Bearer abc.def.ghi cloudinary://123:shh@demo signkey-prod-abcdef0123456789",
    );
    for (const secret of ["mtg_abc", "r8_ABC", "whsec_c2", "abc.def.ghi", "shh", "signkey-prod-abc"]) expect(text).not.toContain(secret);
    expect(text).toContain("cloudinary://123:[redacted]@demo");
  });
});
