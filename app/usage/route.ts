import { requireUser } from "@/lib/auth/require-user";
import { readUsage } from "@/lib/jobs/usage";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json({ success: true, ...(await readUsage(rt, user.id, new URL(request.url).searchParams)) });
});
