import { handleErrors } from "@/lib/api/errors";
import { requireUser } from "@/lib/auth/require-user";
import { serveJobFile } from "@/lib/files/serve";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: { params: Promise<{ key: string[] }> }) => {
  const user = await requireUser(request);
  return serveJobFile(request, user.id, (await context.params).key);
});
