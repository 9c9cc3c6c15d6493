import { BODY_LIMITS, readJsonLimited } from "@/lib/api/body";
import { clientAddress } from "@/lib/api/client-address";
import { assertSameOrigin } from "@/lib/auth/require-user";
import { signUp } from "@/lib/auth/passwords";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/** Creates an email-and-password account; the page then signs in through next-auth. */
export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  assertSameOrigin(request, rt.config);
  const body = await readJsonLimited(request, BODY_LIMITS.smallJson, "The body must be JSON: {\"email\", \"password\", \"name\"?}.");
  const user = await signUp(rt, clientAddress(request, rt.config.trustedProxies), body);
  return Response.json({ success: true, user }, { status: 201 });
});
