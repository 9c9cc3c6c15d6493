import "server-only";
/**
 * Downloads a provider's output file (Replicate delivery, Cloudinary delivery) without letting a
 * provider-supplied URL reach anything else: allowlisted hosts only, HTTPS when required, redirects
 * followed by hand and re-checked on every hop, private addresses refused at connect time (the check
 * runs inside the socket's DNS lookup, so a host cannot resolve to a public address for the check and
 * a private one for the connection), and the body capped while it streams.
 */
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import type { IncomingMessage } from "node:http";
import type { LookupFunction } from "node:net";

import { CanceledError, HardError, RetryableError, isHardError } from "@/lib/workflows/errors";

/** Where provider outputs live. `*.x` matches subdomains of x; an entry with a port matches that port only. */
export const DEFAULT_OUTPUT_HOSTS: readonly string[] = [
  "replicate.delivery",
  "*.replicate.delivery",
  "res.cloudinary.com",
];

const DEFAULT_MAX_BYTES = 200 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 120_000;
const MAX_REDIRECTS = 3;

export interface FetchOutputOptions {
  allowedHosts?: readonly string[];
  /** Refuse plain http (default true). Tests against local fakes turn it off. */
  requireHttps?: boolean;
  /**
   * Let allowlisted hosts resolve to loopback/private addresses. Only for tests whose fakes listen on
   * 127.0.0.1; never set in production (it reopens the door to internal services).
   */
  allowPrivateAddresses?: boolean;
  signal?: AbortSignal;
  maxBytes?: number;
  /** Whole download, all hops (default 120 s). */
  timeoutMs?: number;
  /** Named in the errors, for the health gate. */
  provider?: string;
}

export interface FetchedOutput {
  body: Buffer;
  contentType: string;
}

export async function fetchOutput(url: string, options: FetchOutputOptions = {}): Promise<FetchedOutput> {
  const provider = options.provider;
  const callerSignal = options.signal;
  const timeoutSignal = AbortSignal.timeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const signal = callerSignal ? AbortSignal.any([callerSignal, timeoutSignal]) : timeoutSignal;

  let current = parseUrl(url, provider);
  for (let hop = 0; ; hop++) {
    checkUrlAllowed(current, options);
    let response: IncomingMessage;
    try {
      response = await sendRequest(current, signal, options.allowPrivateAddresses === true);
    } catch (error) {
      throw mapRequestError(error, current, { callerSignal, timeoutSignal, provider });
    }

    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (hop >= MAX_REDIRECTS) {
        throw new HardError("output_refused", `Too many redirects fetching ${describe(current)}`, { provider });
      }
      current = parseUrl(new URL(location, current).toString(), provider);
      continue;
    }
    if (status < 200 || status >= 300) {
      response.resume();
      throw mapStatusError(status, response, current, provider);
    }

    try {
      const body = await readCapped(response, options.maxBytes ?? DEFAULT_MAX_BYTES, current, provider);
      const contentType = response.headers["content-type"]?.split(";")[0]?.trim() || "application/octet-stream";
      return { body, contentType };
    } catch (error) {
      if (isHardError(error)) throw error;
      throw mapRequestError(error, current, { callerSignal, timeoutSignal, provider });
    }
  }
}

/** True for hosts matching an allowlist entry (see DEFAULT_OUTPUT_HOSTS for the syntax). */
export function isHostAllowed(url: URL, allowedHosts: readonly string[]): boolean {
  const hostname = url.hostname.toLowerCase();
  const host = url.host.toLowerCase();
  return allowedHosts.some((rawEntry) => {
    const entry = rawEntry.toLowerCase();
    if (entry.startsWith("*.")) return hostname.endsWith(entry.slice(1));
    // An entry with a port ("127.0.0.1:4010", "[::1]:4010") must match host:port exactly.
    const hasPort = /^[^:]+:\d+$/.test(entry) || /^\[.+\]:\d+$/.test(entry);
    return hasPort ? host === entry : hostname === entry;
  });
}

const privateRanges = new net.BlockList();
for (const [prefix, bits] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4],
  ["240.0.0.0", 4],
] as const) {
  privateRanges.addSubnet(prefix, bits, "ipv4");
}
for (const [prefix, bits] of [
  ["::", 128],
  ["::1", 128],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const) {
  privateRanges.addSubnet(prefix, bits, "ipv6");
}

/** Loopback, private, link-local, CGNAT, multicast and unspecified addresses (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const candidate = mapped?.[1] ?? address;
  const family = net.isIP(candidate);
  if (family === 0) return true; // not an address at all: refuse rather than guess
  return privateRanges.check(candidate, family === 4 ? "ipv4" : "ipv6");
}

class RefusedAddressError extends Error {
  override readonly name = "RefusedAddressError";
}

function parseUrl(value: string, provider: string | undefined): URL {
  try {
    return new URL(value);
  } catch {
    throw new HardError("output_refused", "Output URL is not a valid URL", { provider });
  }
}

function describe(url: URL): string {
  // Never echo query strings: signed delivery URLs carry tokens there.
  return `${url.protocol}//${url.host}${url.pathname}`;
}

function checkUrlAllowed(url: URL, options: FetchOutputOptions): void {
  const provider = options.provider;
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new HardError("output_refused", `Refused output URL scheme ${url.protocol}`, { provider });
  }
  if (url.protocol === "http:" && options.requireHttps !== false) {
    throw new HardError("output_refused", `Refused non-HTTPS output URL ${describe(url)}`, { provider });
  }
  if (!isHostAllowed(url, options.allowedHosts ?? DEFAULT_OUTPUT_HOSTS)) {
    throw new HardError("output_refused", `Refused output host ${url.host} (not allowlisted)`, { provider });
  }
  // Literal IPs skip DNS, so the lookup guard never sees them: check them here.
  const literal = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(literal) !== 0 && isPrivateAddress(literal) && options.allowPrivateAddresses !== true) {
    throw new HardError("output_refused", `Refused output host ${url.host} (private address)`, { provider });
  }
}

function guardedLookup(allowPrivate: boolean): LookupFunction {
  return lookupRefusing((address) => !allowPrivate && isPrivateAddress(address));
}

/**
 * A socket lookup that refuses a host when any of its addresses is refused: the check runs at
 * connect time, on the addresses the socket will use (outgoing webhooks use it too).
 */
export function lookupRefusing(isRefused: (address: string) => boolean): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    dns.lookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const refused = addresses.find((entry) => isRefused(entry.address));
      if (refused) {
        return callback(new RefusedAddressError(`${hostname} resolves to a private address`), "");
      }
      if (lookupOptions.all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(new RefusedAddressError(`${hostname} did not resolve`), "");
      return callback(null, first.address, first.family);
    });
  };
}

export function isRefusedAddressError(error: unknown): boolean {
  return error instanceof RefusedAddressError;
}

function sendRequest(url: URL, signal: AbortSignal, allowPrivate: boolean): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const transport = url.protocol === "https:" ? https : http;
    const request = transport.request(url, {
      method: "GET",
      signal,
      lookup: guardedLookup(allowPrivate),
      headers: { accept: "*/*", "user-agent": "montage-output-fetcher" },
    });
    request.on("response", resolve);
    request.on("error", reject);
    request.end();
  });
}

function readCapped(response: IncomingMessage, maxBytes: number, url: URL, provider: string | undefined): Promise<Buffer> {
  const declared = Number(response.headers["content-length"]);
  if (Number.isFinite(declared) && declared > maxBytes) {
    response.destroy();
    return Promise.reject(
      new HardError("output_too_large", `Output at ${describe(url)} is ${declared} bytes (limit ${maxBytes})`, { provider }),
    );
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      reject(error);
      response.destroy();
    };
    response.on("data", (chunk: Buffer) => {
      total += chunk.length;
      if (total > maxBytes) {
        fail(new HardError("output_too_large", `Output at ${describe(url)} exceeds ${maxBytes} bytes`, { provider }));
        return;
      }
      chunks.push(chunk);
    });
    response.on("end", () => {
      if (settled) return;
      settled = true;
      resolve(Buffer.concat(chunks));
    });
    response.on("error", fail);
    // A connection cut mid-body ends in "close" without "end".
    response.on("close", () => fail(new Error("Connection closed before the body was complete")));
  });
}

function mapStatusError(status: number, response: IncomingMessage, url: URL, provider: string | undefined): Error {
  const where = describe(url);
  if (status === 429) {
    const retryAfter = Number(response.headers["retry-after"]);
    return new RetryableError("rate_limit", `Output host throttled the download of ${where}`, {
      provider,
      ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterSeconds: retryAfter }),
    });
  }
  if (status >= 500) return new RetryableError("outage", `Output host answered ${status} for ${where}`, { provider });
  if (status === 404 || status === 410) {
    return new HardError("output_unavailable", `Output ${where} is gone (${status}); provider outputs expire`, { provider });
  }
  return new HardError("output_unavailable", `Output host answered ${status} for ${where}`, { provider });
}

function mapRequestError(
  error: unknown,
  url: URL,
  context: { callerSignal: AbortSignal | undefined; timeoutSignal: AbortSignal; provider: string | undefined },
): Error {
  const { callerSignal, timeoutSignal, provider } = context;
  if (callerSignal?.aborted) return abortReason(callerSignal);
  if (timeoutSignal.aborted) {
    return new RetryableError("timeout", `Timed out downloading ${describe(url)}`, { provider, cause: error });
  }
  if (error instanceof RefusedAddressError) {
    return new HardError("output_refused", `Refused output host ${url.host}: ${error.message}`, { provider });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new RetryableError("outage", `Network error downloading ${describe(url)}: ${message}`, { provider, cause: error });
}

/** What to throw when a caller's signal aborted: its reason when it is an Error, else a CanceledError. */
export function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new CanceledError();
}
