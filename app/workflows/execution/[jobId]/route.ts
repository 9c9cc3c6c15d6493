import { handleErrors } from "@/lib/api/errors";
import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { getOwnJob } from "@/lib/jobs/service";
import { executionToJson, jobToJson } from "@/lib/jobs/serialize";
import { findWorkflow } from "@/lib/workflows/registry";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const user = await requireUser(request);
  const job = await getOwnJob(user.id, await jobIdFrom(context));
  const steps = findWorkflow(job.workflowId)?.config.steps.map(({ name, type, label }) => ({ name, type, label })) ?? [];
  return Response.json({
    success: true,
    job: jobToJson(job),
    execution: executionToJson(job.execution),
    checkpoints: job.checkpoints,
    steps,
  });
});
