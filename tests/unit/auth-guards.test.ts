import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { clientAddress, PEER_ADDRESS_HEADER } from "@/lib/api/client-address";
import { assertSameOrigin } from "@/lib/auth/require-user";
import { TrustedProxies } from "@/lib/trusted-proxies";
import { parseCookieHeader, readSessionToken } from "@/lib/auth/session";
import { loadConfig } from "@/lib/config";
import { safeReturnPath } from "@/components/auth/return-path";

function request(headers: Record<string, string>): Request {
  return new Request("http://localhost:3000/api/tokens", { method: "POST", headers: { host: "localhost:3000", [PEER_ADDRESS_HEADER]: "127.0.0.1", ...headers } });
}

function refusal(headers: Record<string, string>, env: Record<string, string> = {}): string | null {
  try {
    assertSameOrigin(request(headers), loadConfig(env));
    return null;
  } catch (error) {
    return error instanceof ApiError ? `${error.status} ${error.code}` : String(error);
  }
}

describe("assertSameOrigin (cookie-authenticated state changes)", () => {
  it("accepts the app's own pages", () => {
    expect(refusal({ origin: "http://localhost:3000", "sec-fetch-site": "same-origin" })).toBeNull();
  });

  it("accepts requests that are not from a browser page (no Origin, no Sec-Fetch-Site)", () => {
    expect(refusal({})).toBeNull();
  });

  it("refuses cross-site requests by Sec-Fetch-Site or by Origin", () => {
    expect(refusal({ "sec-fetch-site": "cross-site" })).toBe("403 forbidden");
    expect(refusal({ origin: "https://evil.example" })).toBe("403 forbidden");
    // Same site, other port: still another origin.
    expect(refusal({ origin: "http://localhost:3001", "sec-fetch-site": "same-site" })).toBe("403 forbidden");
    expect(refusal({ origin: "null" })).toBe("403 forbidden");
  });

  it("compares the whole origin: scheme, host and port", () => {
    // Same host and port, other scheme: another origin.
    expect(refusal({ origin: "https://localhost:3000" })).toBe("403 forbidden");
    expect(refusal({ origin: "http://localhost:3000/some/path" })).toBeNull();
  });

  it("ignores forwarded headers unless the peer is a trusted proxy", () => {
    // The attack from issue 12: a client claiming to be its own proxy.
    expect(refusal({ origin: "https://evil.example", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" })).toBe("403 forbidden");
    expect(refusal({ origin: "https://montage.example", "x-forwarded-host": "montage.example", "x-forwarded-proto": "https" })).toBe("403 forbidden");
    // From a trusted proxy, its forwarded scheme and host are the request's origin.
    const behindProxy = { TRUSTED_PROXIES: "127.0.0.1" };
    expect(refusal({ origin: "https://montage.example", "x-forwarded-host": "montage.example", "x-forwarded-proto": "https" }, behindProxy)).toBeNull();
    expect(refusal({ origin: "http://montage.example", "x-forwarded-host": "montage.example", "x-forwarded-proto": "https" }, behindProxy)).toBe("403 forbidden");
  });

  it("compares with APP_URL when it is set, whatever the headers say", () => {
    const app = { APP_URL: "https://montage.example" };
    expect(refusal({ origin: "https://montage.example" }, app)).toBeNull();
    expect(refusal({ origin: "http://localhost:3000" }, app)).toBe("403 forbidden");
    expect(refusal({ origin: "https://evil.example", "x-forwarded-host": "evil.example" }, app)).toBe("403 forbidden");
  });
});

describe("clientAddress", () => {
  const from = (peer: string, forwardedFor?: string) =>
    new Request("http://localhost:3000/api/signup", { headers: { [PEER_ADDRESS_HEADER]: peer, ...(forwardedFor !== undefined && { "x-forwarded-for": forwardedFor }) } });

  it("is the TCP peer when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddress(from("::ffff:203.0.113.9", "1.2.3.4"), new TrustedProxies(""))).toBe("203.0.113.9");
  });

  it("behind trusted proxies, is the last forwarded hop that is not one of them", () => {
    const proxies = new TrustedProxies("10.0.0.0/8, 127.0.0.1");
    expect(clientAddress(from("127.0.0.1", "1.2.3.4, 198.51.100.7, 10.1.2.3"), proxies)).toBe("198.51.100.7");
    // A peer that is not a trusted proxy is the client, even if it forwards.
    expect(clientAddress(from("198.51.100.8", "1.2.3.4"), proxies)).toBe("198.51.100.8");
  });

  it("refuses a TRUSTED_PROXIES entry that is not an address", () => {
    expect(() => new TrustedProxies("localhost")).toThrow(/TRUSTED_PROXIES/);
  });
});

describe("session cookie", () => {
  it("parses cookies and joins a chunked session token in order", () => {
    const cookies = parseCookieHeader("a=1; next-auth.session-token.1=world; next-auth.session-token.0=hello%20; other=x");
    expect(cookies.get("a")).toBe("1");
    const plain = loadConfig({ APP_URL: "http://localhost:3000" });
    expect(readSessionToken(plain, cookies)).toBe("hello world");
    expect(readSessionToken(plain, parseCookieHeader("next-auth.session-token=abc"))).toBe("abc");
    expect(readSessionToken(plain, parseCookieHeader(""))).toBeUndefined();
    // Over HTTPS the cookie carries the __Secure- prefix.
    const secure = loadConfig({ APP_URL: "https://montage.example" });
    expect(readSessionToken(secure, parseCookieHeader("__Secure-next-auth.session-token=xyz; next-auth.session-token=abc"))).toBe("xyz");
  });
});

describe("safeReturnPath", () => {
  it("keeps same-site paths and drops everything else", () => {
    expect(safeReturnPath("/workflows?job=1")).toBe("/workflows?job=1");
    expect(safeReturnPath("https://evil.example/")).toBe("/");
    expect(safeReturnPath("//evil.example/")).toBe("/");
    expect(safeReturnPath("/\\evil.example")).toBe("/");
    expect(safeReturnPath(undefined)).toBe("/");
  });
});
