import { requireUser } from "@/lib/auth/require-user";
import { serveJobFile } from "@/lib/files/serve";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: { params: Promise<{ key: string[] }> }) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return serveJobFile(rt, request, user.id, (await context.params).key);
});
