import "server-only";
import { NextRequest } from "next/server";
import { BODY_LIMITS, readBodyLimited } from "@/lib/api/body";
import { clientAddress } from "@/lib/api/client-address";
import { isApiError } from "@/lib/api/errors";
import type { PasswordHasher } from "@/lib/auth/password-hasher";
import { attemptEmail } from "@/lib/auth/passwords";
import type { AuthThrottle } from "@/lib/auth/throttle";
import type { Config } from "@/lib/config";

export interface SignInGuardDeps {
  config: Pick<Config, "trustedProxies" | "publicBaseUrl">;
  authThrottle: AuthThrottle;
  passwordHasher: Pick<PasswordHasher, "requireCapacity">;
}

/** The sign-in page's error code for a refusal (components/auth/sign-in-form.tsx shows its text). */
export function signInErrorCode(code: string): string {
  return code === "rate_limited" ? "RateLimited" : code === "server_busy" ? "ServerBusy" : "Default";
}

/**
 * What runs before next-auth sees a POST: its body is read within a small limit (413 past it), and
 * a credentials sign-in passes the sign-in limits (lib/auth/throttle.ts) and finds room in the
 * hashing pool (lib/auth/password-hasher.ts) before next-auth hashes anything. Returns the request to hand to next-auth (the body already read, so a copy carrying it).
 * Refusals are in the error shape, plus the `url` next-auth's client reads its error code from.
 */
export async function guardAuthPost(deps: SignInGuardDeps, request: NextRequest, action: string[]): Promise<NextRequest | Response> {
  try {
    const body = await readBodyLimited(request, BODY_LIMITS.authForm);
    if (action[0] === "callback" && action[1] === "credentials") {
      const form = Object.fromEntries(new URLSearchParams(new TextDecoder().decode(body)));
      deps.authThrottle.requireAttempt(clientAddress(request, deps.config.trustedProxies), attemptEmail(form));
      // A full hashing pool refuses here, in the error shape; next-auth would turn it into a 401.
      deps.passwordHasher.requireCapacity();
    }
    return new NextRequest(request.url, { method: request.method, headers: request.headers, ...(body.byteLength > 0 && { body }) });
  } catch (error) {
    if (!isApiError(error)) throw error;
    const url = `${deps.config.publicBaseUrl}/signin?error=${signInErrorCode(error.code)}`;
    return Response.json({ success: false, error: { code: error.code, message: error.message }, url }, { status: error.status, headers: error.headers });
  }
}
