import { BODY_LIMITS, readJsonLimited } from "@/lib/api/body";
import { ApiError } from "@/lib/api/errors";
import { budgetUpdateSchema } from "@/lib/api/schemas";
import { requireUser } from "@/lib/auth/require-user";
import { readBudgetSettings, updateOwnBudget } from "@/lib/jobs/budget";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  return Response.json({ success: true, ...(await readBudgetSettings(rt, user.id)) });
});

export const PUT = handleErrors(async (request: Request) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const body = await readJsonLimited(request, BODY_LIMITS.smallJson, "The body is not valid JSON.");
  const input = budgetUpdateSchema.safeParse(body);
  if (!input.success) throw new ApiError("invalid_request", `Send {"monthly_budget_usd": <dollars> or null}: ${input.error.issues.map((issue) => issue.message).join("; ")}`);
  return Response.json({ success: true, ...(await updateOwnBudget(rt, user.id, input.data.monthly_budget_usd)) });
});
