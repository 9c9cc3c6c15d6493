import "server-only";
import { ApiError } from "@/lib/api/errors";
import { jobIdSchema } from "@/lib/api/schemas";

export interface JobRouteContext {
  params: Promise<{ jobId: string }>;
}

/** The job id from the path; a malformed one is a 404 like any unknown job. */
export async function jobIdFrom(context: JobRouteContext): Promise<string> {
  const { jobId } = await context.params;
  const parsed = jobIdSchema.safeParse(jobId);
  if (!parsed.success) throw new ApiError("not_found", "No such job.");
  return parsed.data;
}
