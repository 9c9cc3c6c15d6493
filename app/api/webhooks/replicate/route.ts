import { handleErrors } from "@/lib/api/errors";
import { receiveReplicateWebhook } from "@/lib/providers/replicate/webhook-receiver";

export const dynamic = "force-dynamic";

/**
 * Replicate's signed prediction webhooks (docs/production.md). No session: the signature is the
 * authentication, and it covers the exact bytes, so the body is read raw. Answers at once; the step
 * waiting for the prediction does the work.
 */
export const POST = handleErrors(async (request: Request) => {
  const rawBody = new Uint8Array(await request.arrayBuffer());
  const outcome = await receiveReplicateWebhook({ headers: request.headers, rawBody });
  return Response.json({ success: true, outcome });
});
