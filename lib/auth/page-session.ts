import "server-only";
import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { cache } from "react";
import { readSessionToken, userFromSessionToken, type SessionDeps, type SessionUser } from "@/lib/auth/session";

/*
 * The session as pages (server components) read it: from the request's cookies, once per request.
 * Apart from lib/auth/session.ts, which route handlers, the runtime and scripts use, because these
 * need React's and Next.js's request scope.
 */

/** For server components: the signed-in user of this request (read once per request), or null. */
export const getSessionUser = cache(async (deps: SessionDeps): Promise<SessionUser | null> => {
  const store = await cookies();
  return userFromSessionToken(deps, readSessionToken(deps.config, new Map(store.getAll().map((cookie) => [cookie.name, cookie.value]))));
});

/** For pages that need a user: sends visitors to sign in and back to `returnTo` afterwards. */
export async function requirePageUser(deps: SessionDeps, returnTo: string): Promise<SessionUser> {
  const user = await getSessionUser(deps);
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent(returnTo)}`);
  return user;
}
