import { describe, expect, it } from "vitest";
import { ApiError } from "@/lib/api/errors";
import { assertSameOrigin } from "@/lib/auth/require-user";
import { parseCookieHeader, readSessionToken } from "@/lib/auth/session";
import { loadConfig } from "@/lib/config";
import { safeReturnPath } from "@/components/auth/return-path";

function request(headers: Record<string, string>): Request {
  return new Request("http://localhost:3000/api/tokens", { method: "POST", headers: { host: "localhost:3000", ...headers } });
}

function refusal(headers: Record<string, string>): string | null {
  try {
    assertSameOrigin(request(headers));
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

  it("compares with the forwarded host behind a proxy", () => {
    expect(refusal({ origin: "https://montage.example", "x-forwarded-host": "montage.example" })).toBeNull();
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
