import { z } from "zod";
import { ApiError, handleErrors } from "@/lib/api/errors";
import { requireSessionUser } from "@/lib/auth/require-user";
import { revokeApiToken } from "@/lib/auth/tokens";
import { db } from "@/lib/db/client";

export const dynamic = "force-dynamic";

export const DELETE = handleErrors(async (request: Request, context: { params: Promise<{ tokenId: string }> }) => {
  const user = await requireSessionUser(request);
  const tokenId = z.uuid().safeParse((await context.params).tokenId);
  if (!tokenId.success || !(await revokeApiToken(db(), user.id, tokenId.data))) {
    throw new ApiError("not_found", "No such active token.");
  }
  return Response.json({ success: true });
});
