import "server-only";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decode } from "next-auth/jwt";
import type { Config } from "@/lib/config";
import type { Store } from "@/lib/store/types";

/**
 * The web session: next-auth's JWT (an encrypted cookie) carrying the user id as `sub`. This module
 * reads it for pages (`getSessionUser`) and for API routes (`userFromSessionToken`, via
 * requireUser), always checking that the user still exists.
 */

export interface SessionUser {
  id: string;
  email: string;
  name: string | null;
}

const SECRET_FILE = "nextauth-secret";

/**
 * NEXTAUTH_SECRET when set. Otherwise (the embedded default) a random secret generated once and kept
 * in DATA_DIR with mode 0600, so sessions survive restarts without any setup. Deployments with more
 * than one instance must set NEXTAUTH_SECRET (or share DATA_DIR).
 */
export function readAuthSecret(cfg: Config): string {
  if (cfg.NEXTAUTH_SECRET) return cfg.NEXTAUTH_SECRET;
  const file = path.join(cfg.dataDir, SECRET_FILE);
  mkdirSync(cfg.dataDir, { recursive: true });
  try {
    // "wx": exclusive create, so two processes starting together cannot both write a secret.
    writeFileSync(file, randomBytes(32).toString("base64url") + "\n", { flag: "wx", mode: 0o600 });
  } catch (error) {
    if ((error as { code?: unknown }).code !== "EEXIST") throw error;
  }
  const secret = readFileSync(file, "utf8").trim();
  if (secret.length < 32) throw new Error(`${file} holds no usable secret; delete it to generate a new one, or set NEXTAUTH_SECRET.`);
  return secret;
}

/** `__Secure-` cookies need HTTPS, so they are used when the public URL is HTTPS. */
export function useSecureCookies(cfg: Config): boolean {
  return (cfg.NEXTAUTH_URL ?? cfg.APP_URL)?.startsWith("https://") ?? false;
}

export function sessionCookieName(cfg: Config): string {
  return useSecureCookies(cfg) ? "__Secure-next-auth.session-token" : "next-auth.session-token";
}

export function parseCookieHeader(header: string | null): Map<string, string> {
  const cookiesByName = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const separator = part.indexOf("=");
    if (separator <= 0) continue;
    const name = part.slice(0, separator).trim();
    const raw = part.slice(separator + 1).trim().replace(/^"(.*)"$/, "$1");
    try {
      cookiesByName.set(name, decodeURIComponent(raw));
    } catch {
      cookiesByName.set(name, raw);
    }
  }
  return cookiesByName;
}

/** The session token, joining the `.0`, `.1`, … chunks next-auth writes when it is large. */
export function readSessionToken(cfg: Config, cookiesByName: ReadonlyMap<string, string>): string | undefined {
  const name = sessionCookieName(cfg);
  const whole = cookiesByName.get(name);
  if (whole) return whole;
  const chunks = [...cookiesByName.entries()]
    .map(([key, value]) => ({ index: key.startsWith(`${name}.`) ? Number(key.slice(name.length + 1)) : NaN, value }))
    .filter((chunk) => Number.isInteger(chunk.index))
    .sort((a, b) => a.index - b.index);
  return chunks.length > 0 ? chunks.map((chunk) => chunk.value).join("") : undefined;
}

/** The signed-in user a session token belongs to, or null for a missing, forged, expired or orphaned one. */
/** What reading a session needs from the runtime. */
export interface SessionDeps {
  config: Config;
  store: Pick<Store, "findTokenUser" | "readUser">;
  authSecret(): string;
}

export async function userFromSessionToken(deps: SessionDeps, token: string | undefined): Promise<SessionUser | null> {
  if (!token) return null;
  let userId: unknown;
  try {
    userId = (await decode({ token, secret: deps.authSecret() }))?.sub;
  } catch {
    return null;
  }
  if (typeof userId !== "string") return null;
  return (await deps.store.readUser(userId)) ?? null;
}
