import { BODY_LIMITS, readBodyLimited } from "@/lib/api/body";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

/**
 * Replicate's signed prediction webhooks (docs/production.md). No session: the signature is the
 * authentication, and it covers the exact bytes, so the body is read raw. Answers at once; the step
 * waiting for the prediction does the work.
 */
export const POST = handleErrors(async (request: Request) => {
  const rawBody = await readBodyLimited(request, BODY_LIMITS.replicateWebhook);
  const outcome = await runtime().replicateWebhooks.receive({ headers: request.headers, rawBody });
  return Response.json({ success: true, outcome });
});
