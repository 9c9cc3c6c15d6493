import "server-only";
/**
 * Local disk storage for the embedded default mode: media lives under `rootDir/<key>` and is served
 * by Montage itself at `<publicBaseUrl>/files/<key>` (the route checks auth, then streams the file).
 */
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { HardError, RetryableError } from "@/lib/workflows/errors";
import type { FaultSwitch } from "./faults";
import type { HealthStatus, PutMediaRequest, StorageProvider, StoredMedia } from "../types";

const PROVIDER = "local-storage";
const FILES_PREFIX = "/files/";
const MAX_KEY_LENGTH = 512;
// Leading dots are refused too: they are how temp files are named, so a key can never address one.
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

const CONTENT_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".mp4": "video/mp4",
};

// Disk full or out of file handles heal when someone frees them; the health probe will tell.
const TRANSIENT_FS_CODES = new Set(["ENOSPC", "EMFILE", "ENFILE", "EAGAIN", "EBUSY", "EDQUOT"]);

export interface LocalStorageOptions {
  /** Absolute directory holding the media, e.g. `${DATA_DIR}/media`. */
  rootDir: string;
  /** Origin (and optional base path) Montage is reached at, e.g. "http://localhost:3000". */
  publicBaseUrl: string;
  /** Simulated provider failures for the `storage` target; applied to `put` only. */
  faults?: FaultSwitch;
}

/** Throws HardError("invalid_key") unless `key` is `/`-separated `[A-Za-z0-9._-]` segments. */
export function assertValidKey(key: string): void {
  const segments = key.split("/");
  const valid =
    key.length > 0 &&
    key.length <= MAX_KEY_LENGTH &&
    segments.every((segment) => SEGMENT.test(segment));
  if (!valid) {
    throw new HardError(
      "invalid_key",
      `Invalid storage key "${key.slice(0, 100)}": expected "/"-separated segments of [A-Za-z0-9._-], none starting with "."`,
      { provider: PROVIDER },
    );
  }
}

/** Content type from the key's extension; "application/octet-stream" when unknown. */
export function contentTypeForKey(key: string): string {
  return CONTENT_TYPES[path.extname(key).toLowerCase()] ?? "application/octet-stream";
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

export class LocalStorage implements StorageProvider {
  readonly name = PROVIDER;
  private readonly rootDir: string;
  private readonly baseUrl: URL;
  private readonly faults: FaultSwitch | undefined;

  constructor(options: LocalStorageOptions) {
    this.rootDir = path.resolve(options.rootDir);
    this.baseUrl = new URL(options.publicBaseUrl.replace(/\/+$/, "") + "/");
    this.faults = options.faults;
  }

  /** Absolute path of a key's file, guaranteed to be inside rootDir. */
  resolvePath(key: string): string {
    assertValidKey(key);
    const filePath = path.resolve(this.rootDir, ...key.split("/"));
    // Belt and braces: the key grammar already excludes traversal.
    if (!filePath.startsWith(this.rootDir + path.sep)) {
      throw new HardError("invalid_key", `Storage key "${key}" escapes the storage root`, { provider: PROVIDER });
    }
    return filePath;
  }

  urlFor(key: string): string {
    assertValidKey(key);
    const encoded = key.split("/").map(encodeURIComponent).join("/");
    return new URL(FILES_PREFIX.slice(1) + encoded, this.baseUrl).toString();
  }

  /**
   * The key behind a URL this storage produced (query and fragment ignored), or a bare key as is.
   * Anything else, including other origins, throws HardError("invalid_key").
   */
  keyFromUrl(urlOrKey: string): string {
    if (!urlOrKey.includes(":")) {
      assertValidKey(urlOrKey);
      return urlOrKey;
    }
    let url: URL;
    try {
      url = new URL(urlOrKey);
    } catch {
      throw this.foreignUrl(urlOrKey);
    }
    const prefix = this.baseUrl.pathname.replace(/\/$/, "") + FILES_PREFIX;
    // The origin is not compared: APP_URL or the port may change while jobs are parked, and the key
    // grammar alone keeps reads inside the storage root.
    if (!url.pathname.startsWith(prefix)) throw this.foreignUrl(urlOrKey);
    let key: string;
    try {
      key = url.pathname.slice(prefix.length).split("/").map(decodeURIComponent).join("/");
    } catch {
      throw this.foreignUrl(urlOrKey);
    }
    assertValidKey(key);
    return key;
  }

  /** For the file route: where a key's file is and what it is, or null when there is none. */
  async locate(key: string): Promise<{ filePath: string; contentType: string; bytes: number } | null> {
    const filePath = this.resolvePath(key);
    try {
      const info = await stat(filePath);
      return info.isFile() ? { filePath, contentType: contentTypeForKey(key), bytes: info.size } : null;
    } catch (error) {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return null;
      throw this.mapFsError(error, `stat ${key}`);
    }
  }

  async put(request: PutMediaRequest): Promise<StoredMedia> {
    const filePath = this.resolvePath(request.key);
    await this.faults?.apply("storage", { provider: PROVIDER, signal: request.signal });
    throwIfAborted(request.signal);
    // Write beside the target and rename: readers see the old file or the new one, never half of one.
    const tempPath = path.join(path.dirname(filePath), `.${path.basename(filePath)}.${randomUUID()}.tmp`);
    try {
      await mkdir(path.dirname(filePath), { recursive: true });
      await writeFile(tempPath, request.body, request.signal ? { signal: request.signal } : {});
      await rename(tempPath, filePath);
    } catch (error) {
      await rm(tempPath, { force: true }).catch(() => undefined);
      if (request.signal?.aborted) throw request.signal.reason;
      throw this.mapFsError(error, `write ${request.key}`);
    }
    return {
      url: this.urlFor(request.key),
      key: request.key,
      contentType: request.contentType,
      bytes: request.body.length,
    };
  }

  async read(url: string, signal?: AbortSignal): Promise<{ body: Buffer; contentType: string }> {
    const key = this.keyFromUrl(url);
    const filePath = this.resolvePath(key);
    throwIfAborted(signal);
    try {
      const body = await readFile(filePath, signal ? { signal } : {});
      return { body, contentType: contentTypeForKey(key) };
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const code = errnoCode(error);
      if (code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR") {
        throw new HardError("not_found", `No stored media at ${url}`, { provider: PROVIDER, cause: error });
      }
      throw this.mapFsError(error, `read ${key}`);
    }
  }

  async checkHealth(): Promise<HealthStatus> {
    const probe = path.join(this.rootDir, `.health-${randomUUID()}.tmp`);
    try {
      await mkdir(this.rootDir, { recursive: true });
      await writeFile(probe, "ok");
      await rm(probe, { force: true });
      return { healthy: true };
    } catch (error) {
      await rm(probe, { force: true }).catch(() => undefined);
      return { healthy: false, detail: `Media directory ${this.rootDir} is not writable (${errnoCode(error) ?? "error"})` };
    }
  }

  private foreignUrl(url: string): HardError {
    const expected = new URL(FILES_PREFIX.slice(1), this.baseUrl).toString();
    return new HardError(
      "invalid_key",
      `"${url.slice(0, 200)}" is not a URL of local storage (expected ${expected}<key> or a bare key)`,
      { provider: PROVIDER },
    );
  }

  private mapFsError(error: unknown, action: string): Error {
    const code = errnoCode(error);
    if (code !== undefined && TRANSIENT_FS_CODES.has(code)) {
      return new RetryableError("outage", `Local storage could not ${action} (${code})`, {
        provider: PROVIDER,
        cause: error,
      });
    }
    return error instanceof Error ? error : new Error(String(error));
  }
}
