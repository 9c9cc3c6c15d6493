import { requireUser } from "@/lib/auth/require-user";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";
import { rotateWebhookSecret, webhookSecretOf } from "@/lib/webhooks/service";

export const dynamic = "force-dynamic";

/** The caller's webhook signing secret (made on first use), to verify deliveries with. */
export const GET = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json({ success: true, secret: await webhookSecretOf(rt.store, user.id) }, { headers: { "cache-control": "no-store" } });
});

/** Rotates the secret: deliveries from now on are signed with the new one. */
export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json({ success: true, secret: await rotateWebhookSecret(rt.store, user.id) }, { headers: { "cache-control": "no-store" } });
});
