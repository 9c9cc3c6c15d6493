/**
 * A local fake of Cloudinary's Upload API (https://cloudinary.com/documentation/image_upload_api_reference)
 * and of the Admin API's `ping`, enough for the real `cloudinary` SDK when CLOUDINARY_URL carries
 * `?upload_prefix=<this fake's origin>`. It also serves the delivery URLs it hands out.
 *
 * Faithful where Montage depends on it: signed uploads checked exactly as documented (signed params
 * sorted, `k=v` joined by `&`, SHA-1 hex of that string + API secret; file, api_key, cloud_name,
 * resource_type and signature not signed), the documented 200 body, `{"error":{"message"}}` errors,
 * assets keyed by public_id with overwrite semantics, magic-byte checks ("Invalid image file").
 * Uncertain against the real API: exact 401 wording for a wrong cloud name or key, Admin API error
 * texts, stale-timestamp handling (not checked here), serving old versions (the fake always serves the
 * current bytes).
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import busboy from "busboy";

export type FakeResourceType = "image" | "video" | "raw";

export interface FakeAsset {
  publicId: string;
  resourceType: FakeResourceType;
  format: string;
  version: number;
  bytes: Buffer;
  width: number | undefined;
  height: number | undefined;
  createdAt: string;
}

export interface CloudinaryInjectedFailure {
  route: "upload" | "ping" | "delivery" | "*";
  status: number;
  message?: string;
  /** How many requests fail (default: all, until cleared). */
  times?: number;
}

export interface CloudinaryFakeOptions {
  cloudName?: string;
  apiKey?: string;
  apiSecret?: string;
  signatureAlgorithm?: "sha1" | "sha256";
}

const UNSIGNED_PARAMS = new Set(["file", "api_key", "cloud_name", "resource_type", "signature"]);
const DEFAULT_MESSAGES: Record<number, string> = {
  400: "Invalid image file",
  401: "Invalid Signature",
  403: "Account is disabled",
  420: "Rate Limit Exceeded",
  429: "Rate Limit Exceeded",
  500: "General Error",
};
const CONTENT_TYPES: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  mp4: "video/mp4",
  webm: "video/webm",
  mov: "video/quicktime",
};

export class CloudinaryFake {
  readonly cloudName: string;
  readonly apiKey: string;
  readonly apiSecret: string;
  readonly assets = new Map<string, FakeAsset>();
  readonly requests: Array<{ method: string; path: string }> = [];
  /** Upload requests answered 200. */
  uploads = 0;

  private readonly signatureAlgorithm: "sha1" | "sha256";
  private readonly server = http.createServer((req, res) => void this.handle(req, res));
  private failures: CloudinaryInjectedFailure[] = [];
  private port = 0;

  constructor(options: CloudinaryFakeOptions = {}) {
    this.cloudName = options.cloudName ?? "montage-test";
    this.apiKey = options.apiKey ?? "123456789012345";
    this.apiSecret = options.apiSecret ?? "fake-api-secret-abcdefghij";
    this.signatureAlgorithm = options.signatureAlgorithm ?? "sha1";
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, "127.0.0.1", resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }
  /** A CLOUDINARY_URL pointing the SDK at this fake. */
  get cloudinaryUrl(): string {
    return `cloudinary://${this.apiKey}:${this.apiSecret}@${this.cloudName}?upload_prefix=${this.origin}`;
  }

  asset(resourceType: FakeResourceType, publicId: string): FakeAsset | undefined {
    return this.assets.get(`${resourceType}/${publicId}`);
  }

  fail(failure: CloudinaryInjectedFailure): void {
    this.failures.push({ ...failure });
  }

  clearFailures(): void {
    this.failures = [];
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.origin);
    const method = req.method ?? "GET";
    this.requests.push({ method, path: url.pathname });

    const upload = /^\/v1_1\/([^/]+)\/([^/]+)\/upload$/.exec(url.pathname);
    if (method === "POST" && upload) {
      const failure = this.takeFailure("upload");
      if (failure) {
        req.resume();
        return sendError(res, failure.status, failure.message ?? DEFAULT_MESSAGES[failure.status] ?? "Error");
      }
      return this.handleUpload(req, res, upload[1] ?? "", upload[2] ?? "");
    }

    const ping = /^\/v1_1\/([^/]+)\/ping$/.exec(url.pathname);
    if (method === "GET" && ping) {
      const failure = this.takeFailure("ping");
      if (failure) return sendError(res, failure.status, failure.message ?? DEFAULT_MESSAGES[failure.status] ?? "Error");
      if (ping[1] !== this.cloudName) return sendError(res, 401, `Invalid cloud_name ${ping[1]}`);
      if (req.headers.authorization !== basicAuth(this.apiKey, this.apiSecret)) {
        return sendError(res, 401, "Invalid credentials");
      }
      return sendJson(res, 200, { status: "ok" });
    }

    const delivery = /^\/([^/]+)\/(image|video|raw)\/upload\/(?:v(\d+)\/)?(.+)$/.exec(url.pathname);
    if (method === "GET" && delivery) {
      const failure = this.takeFailure("delivery");
      if (failure) return sendError(res, failure.status, failure.message ?? "Error");
      return this.serveAsset(res, delivery[1] ?? "", delivery[2] as FakeResourceType, delivery[4] ?? "");
    }

    sendError(res, 404, "Resource not found");
  }

  private async handleUpload(req: http.IncomingMessage, res: http.ServerResponse, cloud: string, resourceType: string): Promise<void> {
    let form: { fields: Record<string, string>; file: Buffer | undefined };
    try {
      form = await readMultipart(req);
    } catch {
      return sendError(res, 400, "Invalid multipart request");
    }
    const { fields } = form;
    if (cloud !== this.cloudName) return sendError(res, 401, `Invalid cloud_name ${cloud}`);
    if (!["image", "video", "raw", "auto"].includes(resourceType)) return sendError(res, 400, `Invalid resource type ${resourceType}`);
    if (!fields.api_key) return sendError(res, 401, "Must supply api_key");
    if (fields.api_key !== this.apiKey) return sendError(res, 401, `Invalid api_key ${fields.api_key}`);
    if (!fields.timestamp) return sendError(res, 400, "Missing required parameter - timestamp");
    const toSign = stringToSign(fields);
    const expected = createHash(this.signatureAlgorithm).update(toSign + this.apiSecret).digest("hex");
    if (fields.signature !== expected) {
      return sendError(res, 401, `Invalid Signature ${fields.signature ?? ""}. String to sign - '${toSign}'.`);
    }

    const file = form.file ?? decodeDataUri(fields.file);
    if (!file || file.length === 0) return sendError(res, 400, "Missing required parameter - file");
    const sniffed = sniff(file);
    const kind: FakeResourceType = resourceType === "auto" ? (sniffed?.kind ?? "raw") : (resourceType as FakeResourceType);
    if (kind === "image" && sniffed?.kind !== "image") return sendError(res, 400, "Invalid image file");
    if (kind === "video" && sniffed?.kind !== "video") return sendError(res, 400, "Unsupported video format or file");

    const folder = fields.folder ? `${fields.folder.replace(/\/+$/, "")}/` : "";
    const publicId = fields.public_id ?? `${folder}${randomBytes(10).toString("hex")}`;
    const mapKey = `${kind}/${publicId}`;
    const existing = this.assets.get(mapKey);
    const overwrite = fields.overwrite === undefined || fields.overwrite === "1" || fields.overwrite === "true";
    if (existing && !overwrite) return sendJson(res, 200, { ...this.describe(existing), existing: true });

    const asset: FakeAsset = {
      publicId,
      resourceType: kind,
      format: sniffed?.format ?? "",
      // A later version every time, even within the same second, so the delivery URL changes.
      version: Math.max(Math.floor(Date.now() / 1000), (existing?.version ?? 0) + 1),
      bytes: file,
      width: sniffed?.width,
      height: sniffed?.height,
      createdAt: new Date().toISOString(),
    };
    this.assets.set(mapKey, asset);
    this.uploads += 1;
    sendJson(res, 200, { ...this.describe(asset), ...(existing && { overwritten: true }) });
  }

  private describe(asset: FakeAsset): Record<string, unknown> {
    const extension = asset.format ? `.${asset.format}` : "";
    const path = `/${this.cloudName}/${asset.resourceType}/upload/v${asset.version}/${asset.publicId}${extension}`;
    return {
      asset_id: createHash("md5").update(`${asset.resourceType}/${asset.publicId}`).digest("hex"),
      public_id: asset.publicId,
      version: asset.version,
      version_id: randomBytes(16).toString("hex"),
      signature: createHash("sha1").update(`public_id=${asset.publicId}&version=${asset.version}${this.apiSecret}`).digest("hex"),
      ...(asset.width !== undefined && { width: asset.width, height: asset.height }),
      format: asset.format,
      resource_type: asset.resourceType,
      created_at: asset.createdAt,
      tags: [],
      bytes: asset.bytes.length,
      type: "upload",
      etag: createHash("md5").update(asset.bytes).digest("hex"),
      placeholder: false,
      // The real API answers http://res.cloudinary.com/... and https://res.cloudinary.com/...; the fake serves both itself.
      url: `${this.origin}${path}`,
      secure_url: `${this.origin}${path}`,
      asset_folder: "",
      display_name: asset.publicId.split("/").pop(),
      original_filename: "file",
      api_key: this.apiKey,
    };
  }

  private serveAsset(res: http.ServerResponse, cloud: string, resourceType: FakeResourceType, rest: string): void {
    const dot = rest.lastIndexOf(".");
    const publicId = dot > 0 ? rest.slice(0, dot) : rest;
    const asset = cloud === this.cloudName ? this.assets.get(`${resourceType}/${decodeURIComponent(publicId)}`) : undefined;
    if (!asset) {
      res.writeHead(404, { "content-type": "text/plain", "x-cld-error": "Resource not found" }).end();
      return;
    }
    res
      .writeHead(200, {
        "content-type": CONTENT_TYPES[asset.format] ?? "application/octet-stream",
        "content-length": asset.bytes.length,
      })
      .end(asset.bytes);
  }

  private takeFailure(route: CloudinaryInjectedFailure["route"]): CloudinaryInjectedFailure | undefined {
    const index = this.failures.findIndex((failure) => failure.route === "*" || failure.route === route);
    if (index < 0) return undefined;
    const failure = this.failures[index]!;
    if (failure.times !== undefined) {
      failure.times -= 1;
      if (failure.times <= 0) this.failures.splice(index, 1);
    }
    return failure;
  }
}

/** The documented string to sign: signed params sorted by name, `k=v` joined by `&`, `&` in values escaped. */
export function stringToSign(fields: Record<string, string>): string {
  return Object.keys(fields)
    .filter((key) => !UNSIGNED_PARAMS.has(key) && fields[key] !== "")
    .sort()
    .map((key) => `${key}=${fields[key]}`.replace(/&/g, "%26"))
    .join("&");
}

function sniff(file: Buffer): { kind: "image" | "video"; format: string; width?: number; height?: number } | undefined {
  if (file.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))) {
    return { kind: "image", format: "png", width: file.readUInt32BE(16), height: file.readUInt32BE(20) };
  }
  if (file[0] === 0xff && file[1] === 0xd8 && file[2] === 0xff) return { kind: "image", format: "jpg" };
  if (file.subarray(0, 4).toString("latin1") === "GIF8") return { kind: "image", format: "gif" };
  if (file.subarray(0, 4).toString("latin1") === "RIFF" && file.subarray(8, 12).toString("latin1") === "WEBP") {
    return { kind: "image", format: "webp" };
  }
  if (file.subarray(4, 8).toString("latin1") === "ftyp") {
    const brand = file.subarray(8, 12).toString("latin1");
    return { kind: "video", format: brand === "qt  " ? "mov" : "mp4" };
  }
  if (file.subarray(0, 4).equals(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]))) return { kind: "video", format: "webm" };
  return undefined;
}

function decodeDataUri(value: string | undefined): Buffer | undefined {
  const match = value ? /^data:[^;,]*;base64,(.*)$/s.exec(value) : null;
  return match?.[1] ? Buffer.from(match[1], "base64") : undefined;
}

function readMultipart(req: http.IncomingMessage): Promise<{ fields: Record<string, string>; file: Buffer | undefined }> {
  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: Buffer | undefined;
    const parser = busboy({ headers: req.headers });
    parser.on("field", (name, value) => {
      fields[name] = value;
    });
    parser.on("file", (_name, stream) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        file = Buffer.concat(chunks);
      });
    });
    parser.on("close", () => resolve({ fields, file }));
    parser.on("error", reject);
    req.pipe(parser);
  });
}

function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
}

function sendError(res: http.ServerResponse, status: number, message: string): void {
  sendJson(res, status, { error: { message } }, { "x-cld-error": message });
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text), ...headers }).end(text);
}
