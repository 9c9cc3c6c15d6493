import "server-only";
/**
 * Cloudinary storage through the official `cloudinary` v2 SDK.
 *
 * Configuration travels with every call instead of through `cloudinary.config()`: the SDK's config is
 * a process-wide singleton (read from process.env.CLOUDINARY_URL when its modules load), and two
 * storages with different accounts, or a test fake, must not see each other's settings. The SDK picks
 * `http` or `https` once, at load, from that env URL; we pass an agent matching our own
 * `upload_prefix` so an `http://` prefix (a local fake) works whatever the environment says.
 */
import http from "node:http";
import https from "node:https";
import { v2 as cloudinary } from "cloudinary";
import type { UploadApiResponse } from "cloudinary";

import { classifyError, HardError, RetryableError, isHardError, isRetryableError } from "@/lib/workflows/errors";
import { abortReason, fetchOutput } from "@/lib/providers/fetch-output";
import type { FetchOutputOptions } from "@/lib/providers/fetch-output";
import type { HealthStatus, PutMediaRequest, StorageProvider, StoredMedia } from "@/lib/providers/types";

const PROVIDER = "cloudinary";
const DEFAULT_DELIVERY_HOST = "res.cloudinary.com";

export interface CloudinaryConfig {
  cloudName: string;
  apiKey: string;
  apiSecret: string;
  /** API origin, e.g. "https://api.cloudinary.com" (the SDK's default) or a fake's "http://127.0.0.1:PORT". */
  uploadPrefix: string | undefined;
  /** Private CDN host from the URL's path ("cloudinary://k:s@cloud/cdn.example.com"), if any. */
  secureDistribution: string | undefined;
  signatureAlgorithm: string | undefined;
}

export interface CloudinaryStorageOptions {
  /** `cloudinary://<api_key>:<api_secret>@<cloud_name>[/<private cdn host>][?upload_prefix=...]` */
  cloudinaryUrl: string;
  /** Prefix of every public_id (default "montage"). */
  folder?: string;
  /** More hosts `read` may fetch from, besides res.cloudinary.com and the private CDN host. */
  deliveryHosts?: string[];
  /** Download rules for `read`; tests against the fake set `requireHttps: false, allowPrivateAddresses: true`. */
  readOptions?: Pick<FetchOutputOptions, "requireHttps" | "allowPrivateAddresses" | "maxBytes" | "timeoutMs">;
  /** Upload timeout (default 120 s). */
  uploadTimeoutMs?: number;
}

/** Parses CLOUDINARY_URL the way the SDK does (user:password@cloud, query string = extra config). */
export function parseCloudinaryUrl(value: string): CloudinaryConfig {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error("CLOUDINARY_URL is not a valid URL (expected cloudinary://<key>:<secret>@<cloud>)");
  }
  if (url.protocol !== "cloudinary:") throw new Error("CLOUDINARY_URL must start with cloudinary://");
  const cloudName = url.hostname;
  const apiKey = decodeURIComponent(url.username);
  const apiSecret = decodeURIComponent(url.password);
  if (!cloudName || !apiKey || !apiSecret) {
    throw new Error("CLOUDINARY_URL must hold an API key, an API secret and a cloud name");
  }
  const uploadPrefix = url.searchParams.get("upload_prefix")?.replace(/\/+$/, "") || undefined;
  if (uploadPrefix !== undefined && !/^https?:\/\/[^/]+$/.test(uploadPrefix)) {
    throw new Error("CLOUDINARY_URL upload_prefix must be an http(s) origin, e.g. https://api.cloudinary.com");
  }
  const path = url.pathname.replace(/^\/+|\/+$/g, "");
  return {
    cloudName,
    apiKey,
    apiSecret,
    uploadPrefix,
    secureDistribution: path || undefined,
    signatureAlgorithm: url.searchParams.get("signature_algorithm") ?? undefined,
  };
}

/**
 * The public_id for a storage key: folder + key without its extension (Cloudinary adds the format),
 * e.g. "jobs/<jobId>/1-image_edit.png" → "montage/jobs/<jobId>/1-image_edit". Deterministic, so a
 * retried upload overwrites the same asset.
 */
export function publicIdForKey(folder: string, key: string): string {
  const segments = key
    .split("/")
    .filter((segment) => segment && segment !== "." && segment !== "..")
    .map((segment) => segment.replace(/[^A-Za-z0-9_.-]/g, "_"));
  const last = segments.pop();
  if (!last) throw new HardError("invalid_key", `Storage key "${key.slice(0, 100)}" is empty`, { provider: PROVIDER });
  const base = last.replace(/\.[A-Za-z0-9]+$/, "") || last;
  return [folder, ...segments, base].filter(Boolean).join("/");
}

export class CloudinaryStorage implements StorageProvider {
  readonly name = PROVIDER;
  private readonly config: CloudinaryConfig;
  private readonly folder: string;
  private readonly deliveryHosts: string[];
  private readonly readOptions: CloudinaryStorageOptions["readOptions"];
  private readonly uploadTimeoutMs: number;
  private readonly agent: http.Agent;

  constructor(options: CloudinaryStorageOptions) {
    this.config = parseCloudinaryUrl(options.cloudinaryUrl);
    this.folder = options.folder ?? "montage";
    this.deliveryHosts = [
      DEFAULT_DELIVERY_HOST,
      ...(this.config.secureDistribution ? [this.config.secureDistribution] : []),
      ...(options.deliveryHosts ?? []),
    ];
    this.readOptions = options.readOptions;
    this.uploadTimeoutMs = options.uploadTimeoutMs ?? 120_000;
    this.agent = this.config.uploadPrefix?.startsWith("http:") ? new http.Agent() : https.globalAgent;
  }

  async put(request: PutMediaRequest): Promise<StoredMedia> {
    if (request.signal?.aborted) throw abortReason(request.signal);
    const publicId = publicIdForKey(this.folder, request.key);
    const result = await withAbort(this.upload(request, publicId), request.signal);
    return {
      url: result.secure_url,
      key: request.key,
      contentType: request.contentType,
      bytes: typeof result.bytes === "number" ? result.bytes : request.body.length,
    };
  }

  async read(url: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType: string }> {
    return fetchOutput(url, {
      ...this.readOptions,
      allowedHosts: this.deliveryHosts,
      provider: PROVIDER,
      ...(signal && { signal }),
    });
  }

  /**
   * Admin API `GET /v1_1/<cloud>/ping` with Basic auth: cheap, and it proves the key and secret.
   * It counts against the Admin API's hourly limit (500/h on free plans): call it when the health gate
   * asks, not on every step.
   */
  async checkHealth(): Promise<HealthStatus> {
    try {
      await withAbort(cloudinary.api.ping({ ...this.sdkOptions(), timeout: 10_000 }), AbortSignal.timeout(10_000));
      return { healthy: true };
    } catch (error) {
      const mapped = mapCloudinaryError(error, "ping");
      const reason = isRetryableError(mapped) ? `${mapped.reason}: ` : "";
      return { healthy: false, detail: `${reason}${mapped.message}` };
    }
  }

  private upload(request: PutMediaRequest, publicId: string): Promise<UploadApiResponse> {
    return new Promise((resolve, reject) => {
      const stream = cloudinary.uploader.upload_stream(
        {
          ...this.sdkOptions(),
          resource_type: request.resourceType,
          public_id: publicId,
          overwrite: true,
          unique_filename: false,
          timeout: this.uploadTimeoutMs,
        },
        (error, result) => {
          if (error) reject(mapCloudinaryError(error, "upload"));
          else if (result) resolve(result);
          else reject(new RetryableError("outage", "Cloudinary upload returned no result", { provider: PROVIDER }));
        },
      );
      stream.end(request.body);
    });
  }

  private sdkOptions() {
    return {
      cloud_name: this.config.cloudName,
      api_key: this.config.apiKey,
      api_secret: this.config.apiSecret,
      agent: this.agent,
      ...(this.config.uploadPrefix && { upload_prefix: this.config.uploadPrefix }),
      ...(this.config.signatureAlgorithm && { signature_algorithm: this.config.signatureAlgorithm }),
    };
  }
}

/**
 * The SDK rejects with `{message, http_code}` for API errors (the Admin API adds `request_options`,
 * which holds the credentials: never keep the raw object), `{message, http_code: 499}` for its own
 * timeout, and the socket's Error for network failures.
 */
export function mapCloudinaryError(error: unknown, action: string): Error {
  if (isRetryableError(error) || isHardError(error)) return error;
  const inner = (error as { error?: unknown } | null)?.error ?? error; // the Admin API nests it
  const httpCode = (inner as { http_code?: unknown } | null)?.http_code;
  const rawMessage = (inner as { message?: unknown } | null)?.message;
  const message = typeof rawMessage === "string" ? rawMessage : "unknown error";
  const options = { provider: PROVIDER, ...(inner instanceof Error && { cause: inner }) };
  const text = `Cloudinary ${action} failed${typeof httpCode === "number" ? ` (${httpCode})` : ""}: ${message}`;

  if (typeof httpCode !== "number") {
    // No HTTP answer: a socket failure (refused, reset, DNS) is an outage; anything else is a bug.
    const classified = classifyError(inner);
    if (classified.kind === "retryable") return new RetryableError(classified.reason, text, options);
    return inner instanceof Error ? inner : new Error(text);
  }
  if (httpCode === 401 || httpCode === 403) return new RetryableError("auth", text, options);
  if (httpCode === 420 || httpCode === 429) return new RetryableError("rate_limit", text, options);
  if (httpCode === 499 || httpCode >= 500) return new RetryableError("outage", text, options);
  if (httpCode === 400) return new HardError("invalid_input", message, options);
  return new HardError("storage_rejected", text, options);
}

function withAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      const reason = signal.reason;
      // A timeout becomes a retryable "timeout"; any other abort keeps its reason (e.g. CanceledError).
      reject(
        reason instanceof Error && reason.name === "TimeoutError"
          ? new RetryableError("timeout", "Cloudinary did not answer in time", { provider: PROVIDER })
          : abortReason(signal),
      );
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
