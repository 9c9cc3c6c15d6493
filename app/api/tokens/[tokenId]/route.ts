import { z } from "zod";
import { ApiError } from "@/lib/api/errors";
import { requireSessionUser } from "@/lib/auth/require-user";
import { revokeApiToken } from "@/lib/auth/tokens";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const DELETE = handleErrors(async (request: Request, context: { params: Promise<{ tokenId: string }> }) => {
  const rt = runtime();
  const user = await requireSessionUser(rt, request);
  const tokenId = z.uuid().safeParse((await context.params).tokenId);
  if (!tokenId.success || !(await revokeApiToken(rt.store, user.id, tokenId.data))) {
    throw new ApiError("not_found", "No such active token.");
  }
  return Response.json({ success: true });
});
