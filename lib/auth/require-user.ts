import "server-only";
import { expectedOrigin } from "@/lib/api/client-address";
import { ApiError } from "@/lib/api/errors";
import { findUserByToken } from "@/lib/auth/tokens";
import type { Config } from "@/lib/config";
import { parseCookieHeader, readSessionToken, userFromSessionToken, type SessionDeps } from "@/lib/auth/session";

export interface AuthenticatedUser {
  id: string;
  email: string;
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Authenticates an API request: a Bearer token when the request carries one (it decides alone), else
 * the web session cookie. Throws a 401 ApiError when neither identifies a user, and a 403 for a
 * cookie-authenticated state-changing request that comes from another site (see assertSameOrigin).
 */
export async function requireUser(deps: SessionDeps, request: Request): Promise<AuthenticatedUser> {
  const header = request.headers.get("authorization");
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  if (match) {
    const user = await findUserByToken(deps.store, match[1]!);
    if (user) return { id: user.id, email: user.email };
    throw new ApiError("unauthorized", "The API token is invalid or revoked.", { "WWW-Authenticate": 'Bearer error="invalid_token"' });
  }
  const user = await sessionUser(deps, request);
  if (!user) throw new ApiError("unauthorized", "Sign in or send an API token: Authorization: Bearer <token>.", { "WWW-Authenticate": "Bearer" });
  return user;
}

/**
 * Authenticates by the session cookie only: for actions an API token must not be able to do on its
 * own, such as minting more tokens (a leaked token could otherwise outlive its revocation).
 */
export async function requireSessionUser(deps: SessionDeps, request: Request): Promise<AuthenticatedUser> {
  const user = await sessionUser(deps, request);
  if (!user) throw new ApiError("unauthorized", "Sign in to do this: it needs a browser session, an API token cannot be used here.");
  return user;
}

async function sessionUser(deps: SessionDeps, request: Request): Promise<AuthenticatedUser | null> {
  const user = await userFromSessionToken(deps, readSessionToken(deps.config, parseCookieHeader(request.headers.get("cookie"))));
  if (!user) return null;
  if (!SAFE_METHODS.has(request.method.toUpperCase())) assertSameOrigin(request, deps.config);
  return { id: user.id, email: user.email };
}

/**
 * Cookies ride along on requests other sites trigger, so a state-changing request must prove it comes
 * from Montage's own pages: it is refused when the browser says it is cross-site (Sec-Fetch-Site) or
 * its Origin (scheme, host and port) is not Montage's: APP_URL's, or without it the request's own
 * (forwarded headers count only from TRUSTED_PROXIES). Requests with neither header are not from a
 * browser page and pass.
 */
export function assertSameOrigin(request: Request, config: Pick<Config, "APP_URL" | "trustedProxies">): void {
  const fetchSite = request.headers.get("sec-fetch-site");
  if (fetchSite === "cross-site") throw forbidden();
  const origin = request.headers.get("origin");
  if (origin === null) return;
  let sentOrigin: string;
  try {
    sentOrigin = new URL(origin).origin;
  } catch {
    throw forbidden(); // garbage
  }
  // "null" (sandboxed frames, privacy redirects) parses to the opaque origin "null": never ours.
  if (sentOrigin === "null" || sentOrigin !== expectedOrigin(request, config.APP_URL, config.trustedProxies)) throw forbidden();
}

function forbidden(): ApiError {
  return new ApiError("forbidden", "Cross-site request refused: send it from Montage's own pages, or authenticate with an API token.");
}
