/**
 * The real `cloudinary` SDK against the local Cloudinary fake, reached through `upload_prefix` in
 * CLOUDINARY_URL: uploads with deterministic public_ids, reads, health, and every error mapping.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import ffmpeg from "@ffmpeg-installer/ffmpeg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";

import { CanceledError, HardError, RetryableError } from "@/lib/workflows/errors";
import { CloudinaryStorage, parseCloudinaryUrl, publicIdForKey } from "@/lib/providers/cloudinary/storage";
import type { CloudinaryStorageOptions } from "@/lib/providers/cloudinary/storage";
import type { PutMediaRequest } from "@/lib/providers/types";
import { CloudinaryFake, stringToSign } from "@/tests/fakes/cloudinary-fake";

const FIXTURES = path.resolve(import.meta.dirname, "..", "fixtures");

let fake: CloudinaryFake;
let photo: Buffer;
let photoJpg: Buffer;

beforeAll(async () => {
  photo = await readFile(path.join(FIXTURES, "photo.png"));
  photoJpg = await readFile(path.join(FIXTURES, "photo.jpg"));
  fake = await new CloudinaryFake().start();
});

afterAll(async () => {
  await fake.stop();
});

afterEach(() => {
  fake.clearFailures();
});

function makeStorage(overrides: Partial<CloudinaryStorageOptions> = {}): CloudinaryStorage {
  return new CloudinaryStorage({
    cloudinaryUrl: fake.cloudinaryUrl,
    deliveryHosts: [fake.host],
    readOptions: { requireHttps: false, allowPrivateAddresses: true },
    ...overrides,
  });
}

function image(key: string, body = photo): PutMediaRequest {
  return { key, body, contentType: "image/png", resourceType: "image" };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error("expected a rejection");
}

describe("CloudinaryStorage.put and read", () => {
  it("uploads through upload_prefix with a deterministic public_id and reads the bytes back", async () => {
    const storage = makeStorage();
    const stored = await storage.put(image("jobs/job-a/1-image_edit.png"));

    expect(stored).toMatchObject({ key: "jobs/job-a/1-image_edit.png", contentType: "image/png", bytes: photo.length });
    expect(stored.url).toMatch(new RegExp(`^${fake.origin}/montage-test/image/upload/v\\d+/montage/jobs/job-a/1-image_edit\\.png$`));
    expect(fake.asset("image", "montage/jobs/job-a/1-image_edit")?.bytes.equals(photo)).toBe(true);
    expect(fake.requests).toContainEqual({ method: "POST", path: "/v1_1/montage-test/image/upload" });

    const read = await storage.read(stored.url);
    expect(read.contentType).toBe("image/png");
    expect(read.body.equals(photo)).toBe(true);
  });

  it("uploading the same key twice leaves one asset (overwrite), with a new version", async () => {
    const storage = makeStorage();
    const uploadsBefore = fake.uploads;
    const first = await storage.put(image("jobs/job-b/1-image_edit.png"));
    const second = await storage.put(image("jobs/job-b/1-image_edit.png", photoJpg));

    expect(fake.uploads - uploadsBefore).toBe(2);
    const assets = [...fake.assets.keys()].filter((key) => key.includes("jobs/job-b/"));
    expect(assets).toEqual(["image/montage/jobs/job-b/1-image_edit"]);
    expect(fake.asset("image", "montage/jobs/job-b/1-image_edit")?.format).toBe("jpg");
    expect(second.url).not.toBe(first.url);
    expect((await storage.read(second.url)).body.equals(photoJpg)).toBe(true);
  });

  it("uploads a video as resource_type video", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "montage-cloudinary-"));
    try {
      const file = path.join(dir, "clip.mp4");
      await promisify(execFile)(ffmpeg.path, [
        "-loglevel", "error", "-f", "lavfi", "-i", "color=c=blue:s=64x64:d=0.2", "-pix_fmt", "yuv420p", "-y", file,
      ]);
      const clip = await readFile(file);
      const stored = await makeStorage().put({ key: "jobs/job-c/2-video.mp4", body: clip, contentType: "video/mp4", resourceType: "video" });
      expect(stored.url).toMatch(/\/video\/upload\/v\d+\/montage\/jobs\/job-c\/2-video\.mp4$/);
      expect(fake.asset("video", "montage/jobs/job-c/2-video")?.bytes.equals(clip)).toBe(true);
      const read = await makeStorage().read(stored.url);
      expect(read.contentType).toBe("video/mp4");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("uses the folder option and sanitises keys into public_ids", () => {
    expect(publicIdForKey("montage", "jobs/abc/1-image_edit.png")).toBe("montage/jobs/abc/1-image_edit");
    expect(publicIdForKey("", "jobs/abc/2-video.mp4")).toBe("jobs/abc/2-video");
    expect(publicIdForKey("montage", "jobs/a b?/../x&y.tar.gz")).toBe("montage/jobs/a_b_/x_y.tar");
  });

  it("read refuses hosts that are not Cloudinary delivery hosts", async () => {
    const error = await caught(makeStorage().read("https://example.com/montage-test/image/upload/v1/x.png"));
    expect(error).toBeInstanceOf(HardError);
    expect(error).toMatchObject({ code: "output_refused", provider: "cloudinary" });
    // Without the test-only options, the fake's own (loopback, plain http) URL is refused too.
    const stored = await makeStorage().put(image("jobs/job-d/1.png"));
    const strict = new CloudinaryStorage({ cloudinaryUrl: fake.cloudinaryUrl, deliveryHosts: [fake.host] });
    expect(await caught(strict.read(stored.url))).toMatchObject({ code: "output_refused" });
  });

  it("put honours an aborted signal", async () => {
    const controller = new AbortController();
    controller.abort(new CanceledError());
    expect(await caught(makeStorage().put({ ...image("jobs/job-e/1.png"), signal: controller.signal }))).toBeInstanceOf(
      CanceledError,
    );
  });
});

describe("CloudinaryStorage error mapping", () => {
  it("a wrong API secret fails the fake's signature check → RetryableError auth", async () => {
    const url = `cloudinary://${fake.apiKey}:wrong-secret@${fake.cloudName}?upload_prefix=${fake.origin}`;
    const error = await caught(makeStorage({ cloudinaryUrl: url }).put(image("jobs/job-f/1.png")));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: "auth", provider: "cloudinary" });
    expect((error as Error).message).toMatch(/Invalid Signature/);
  });

  it("injected 401 → auth", async () => {
    fake.fail({ route: "upload", status: 401, message: "Invalid api_key 123" });
    expect(await caught(makeStorage().put(image("jobs/job-g/1.png")))).toMatchObject({ reason: "auth" });
  });

  it("400 → HardError invalid_input with Cloudinary's message (injected, and real bytes that are no image)", async () => {
    fake.fail({ route: "upload", status: 400, times: 1 });
    const injected = await caught(makeStorage().put(image("jobs/job-h/1.png")));
    expect(injected).toBeInstanceOf(HardError);
    expect(injected).toMatchObject({ code: "invalid_input", message: "Invalid image file" });

    const notAnImage = await caught(makeStorage().put(image("jobs/job-h/2.png", Buffer.from("definitely not a png"))));
    expect(notAnImage).toMatchObject({ code: "invalid_input", message: "Invalid image file" });
  });

  it.each([
    [420, "rate_limit"],
    [429, "rate_limit"],
    [500, "outage"],
    [502, "outage"],
    [503, "outage"],
  ] as const)("%i → RetryableError %s", async (status, reason) => {
    fake.fail({ route: "upload", status });
    const error = await caught(makeStorage().put(image("jobs/job-i/1.png")));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason, provider: "cloudinary" });
  });

  it("network failure → RetryableError outage", async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const url = `cloudinary://${fake.apiKey}:${fake.apiSecret}@${fake.cloudName}?upload_prefix=http://127.0.0.1:${port}`;
    const error = await caught(makeStorage({ cloudinaryUrl: url }).put(image("jobs/job-j/1.png")));
    expect(error).toBeInstanceOf(RetryableError);
    expect(error).toMatchObject({ reason: "outage" });
  });

  it("the SDK's own timeout (http_code 499) → outage", async () => {
    const silent = http.createServer(() => {
      // never answers
    });
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    try {
      const port = (silent.address() as AddressInfo).port;
      const url = `cloudinary://${fake.apiKey}:${fake.apiSecret}@${fake.cloudName}?upload_prefix=http://127.0.0.1:${port}`;
      const error = await caught(makeStorage({ cloudinaryUrl: url, uploadTimeoutMs: 200 }).put(image("jobs/job-k/1.png")));
      expect(error).toMatchObject({ reason: "outage" });
      expect((error as Error).message).toMatch(/499/);
    } finally {
      silent.closeAllConnections();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });
});

describe("CloudinaryStorage.checkHealth (Admin API ping)", () => {
  it("is healthy with valid credentials", async () => {
    expect(await makeStorage().checkHealth()).toEqual({ healthy: true });
    expect(fake.requests).toContainEqual({ method: "GET", path: "/v1_1/montage-test/ping" });
  });

  it("reports auth for wrong credentials and outage for a 500, without leaking the secret", async () => {
    const url = `cloudinary://${fake.apiKey}:wrong-secret@${fake.cloudName}?upload_prefix=${fake.origin}`;
    const auth = await makeStorage({ cloudinaryUrl: url }).checkHealth();
    expect(auth.healthy).toBe(false);
    expect(auth.detail).toMatch(/^auth: /);
    expect(auth.detail).not.toContain("wrong-secret");

    fake.fail({ route: "ping", status: 500 });
    const outage = await makeStorage().checkHealth();
    expect(outage).toMatchObject({ healthy: false });
    expect(outage.detail).toMatch(/^outage: /);
  });
});

describe("CLOUDINARY_URL", () => {
  it("parses credentials, upload_prefix and a private CDN host", () => {
    expect(parseCloudinaryUrl("cloudinary://key:sec%2Fret@cloud?upload_prefix=http://127.0.0.1:4000/")).toEqual({
      cloudName: "cloud",
      apiKey: "key",
      apiSecret: "sec/ret",
      uploadPrefix: "http://127.0.0.1:4000",
      secureDistribution: undefined,
      signatureAlgorithm: undefined,
    });
    expect(parseCloudinaryUrl("cloudinary://key:secret@cloud/media.example.com").secureDistribution).toBe("media.example.com");
    expect(parseCloudinaryUrl("cloudinary://key:secret@cloud").uploadPrefix).toBeUndefined();
  });

  it("refuses malformed URLs without echoing the secret", () => {
    expect(() => parseCloudinaryUrl("https://key:secret@cloud")).toThrow(/cloudinary:\/\//);
    expect(() => parseCloudinaryUrl("cloudinary://key@cloud")).toThrow(/API secret/);
    expect(() => parseCloudinaryUrl("cloudinary://key:secret@cloud?upload_prefix=ftp://x")).toThrow(/upload_prefix/);
    try {
      parseCloudinaryUrl("cloudinary://key:topsecret@cloud?upload_prefix=nope");
    } catch (error) {
      expect((error as Error).message).not.toContain("topsecret");
    }
  });

  it("the SDK reached the fake only through upload_prefix (process.env.CLOUDINARY_URL unset)", () => {
    expect(process.env.CLOUDINARY_URL).toBeUndefined();
    expect(fake.uploads).toBeGreaterThan(0);
  });
});

describe("cloudinary fake fidelity", () => {
  it("builds the documented string to sign", () => {
    expect(
      stringToSign({
        timestamp: "1315060510",
        public_id: "sample_image",
        eager: "w_400,h_300,c_pad|w_260,h_200,c_crop",
        file: "ignored",
        api_key: "ignored",
        resource_type: "ignored",
        cloud_name: "ignored",
        signature: "ignored",
        tags: "",
        context: "a=b&c",
      }),
    ).toBe("context=a=b%26c&eager=w_400,h_300,c_pad|w_260,h_200,c_crop&public_id=sample_image&timestamp=1315060510");
  });
});
