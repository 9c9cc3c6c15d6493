import "server-only";
import { ApiError } from "@/lib/api/errors";
import { bulkFilterSchema } from "@/lib/api/schemas";
import { bulkAct, type BulkAction } from "@/lib/jobs/bulk";
import type { JobsDeps } from "@/lib/jobs/service";

/** A bulk action's JSON body, checked, then the action: bad input is a 400 before any job is touched. */
export async function bulkActionFromRequest(deps: JobsDeps, userId: string, action: BulkAction, request: Request) {
  const body: unknown = await request.json().catch(() => {
    throw new ApiError("invalid_json", "Send the filter as a JSON object, e.g. {\"status\": [\"failed\"]}.");
  });
  const filter = bulkFilterSchema.safeParse(body);
  if (!filter.success) throw new ApiError("invalid_request", filter.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`).join("; "));
  return bulkAct(deps, userId, action, filter.data);
}
