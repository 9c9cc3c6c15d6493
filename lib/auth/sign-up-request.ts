import "server-only";
import { BODY_LIMITS, readJsonLimited } from "@/lib/api/body";
import { clientAddress } from "@/lib/api/client-address";
import { signUp, type PasswordDeps } from "@/lib/auth/passwords";
import { assertSameOrigin } from "@/lib/auth/require-user";
import type { AuthThrottle } from "@/lib/auth/throttle";
import type { Config } from "@/lib/config";

export type SignUpDeps = PasswordDeps & { config: Config; authThrottle: AuthThrottle };

/**
 * POST /api/signup, whole: same-origin check, the bounded JSON body, the limits and the account
 * (lib/auth/passwords.ts `signUp`), 201 with the user. Thrown ApiErrors are the caller's to map.
 * Two servers call it: the route handler (app/api/signup/route.ts, for `next dev`) and the Node
 * front (lib/server/node-sign-up.ts), which answers sign-ups without Next's per-request work so
 * that a burst of them, most refused by the limits, costs other requests little.
 */
export async function answerSignUp(deps: SignUpDeps, request: Request): Promise<Response> {
  assertSameOrigin(request, deps.config);
  const body = await readJsonLimited(request, BODY_LIMITS.smallJson, "The body must be JSON: {\"email\", \"password\", \"name\"?}.");
  const user = await signUp(deps, clientAddress(request, deps.config.trustedProxies), body);
  return Response.json({ success: true, user }, { status: 201 });
}
