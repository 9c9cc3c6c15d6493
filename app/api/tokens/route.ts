import { z } from "zod";
import { BODY_LIMITS, readJsonLimited } from "@/lib/api/body";
import { ApiError } from "@/lib/api/errors";
import { requireSessionUser } from "@/lib/auth/require-user";
import { createApiToken, listApiTokens } from "@/lib/auth/tokens";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

const createTokenSchema = z.object({ name: z.string().trim().min(1, "Name the token.").max(80) });

function tokenToJson(token: { id: string; name: string; prefix: string; createdAt: Date; lastUsedAt: Date | null; revokedAt: Date | null }) {
  return {
    id: token.id,
    name: token.name,
    prefix: token.prefix,
    created_at: token.createdAt.toISOString(),
    last_used_at: token.lastUsedAt?.toISOString() ?? null,
    revoked_at: token.revokedAt?.toISOString() ?? null,
  };
}

/** Token management for the settings page: session cookie only, so a token cannot mint tokens. */
export const GET = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireSessionUser(rt, request);
  const tokens = await listApiTokens(rt.store, user.id);
  return Response.json({ success: true, tokens: tokens.map(tokenToJson) });
});

export const POST = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireSessionUser(rt, request);
  const input = createTokenSchema.safeParse(await readJsonLimited(request, BODY_LIMITS.smallJson, 'The body must be JSON: {"name"}.'));
  if (!input.success) throw new ApiError("invalid_input", input.error.issues.map((issue) => issue.message).join(" "));
  const { token, record } = await createApiToken(rt.store, user.id, input.data.name);
  // The token itself is in this response only: just its hash is stored.
  return Response.json({ success: true, token, record: tokenToJson(record) }, { status: 201 });
});
