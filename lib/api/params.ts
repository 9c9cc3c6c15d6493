import "server-only";
import { z } from "zod";
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

export interface JobInputRouteContext {
  params: Promise<{ jobId: string; field: string }>;
}

/** An image input's name as workflows declare them (lib/workflows/inputs.ts): snake_case, at most 63 characters. */
const inputFieldSchema = z.string().regex(/^[a-z][a-z0-9_]{0,62}$/);

/** The image input's name from the path; a malformed one is a 404 like any image the job was not sent. */
export async function inputFieldFrom(context: JobInputRouteContext): Promise<string> {
  const { field } = await context.params;
  const parsed = inputFieldSchema.safeParse(field);
  if (!parsed.success) throw new ApiError("not_found", "The job has no image for that input.");
  return parsed.data;
}
