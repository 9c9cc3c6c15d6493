import { jobIdFrom, type JobRouteContext } from "@/lib/api/params";
import { requireUser } from "@/lib/auth/require-user";
import { getOwnJobDetails } from "@/lib/jobs/service";
import { jobTimeline } from "@/lib/jobs/timeline-read";
import { costToJson, executionToJson, jobToJson, rerunToJson, stepsToJson } from "@/lib/jobs/serialize";
import { handleErrors } from "@/lib/server/http";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async (request: Request, context: JobRouteContext) => {
  const rt = runtime();
  const user = await requireUser(rt, request);
  const job = await getOwnJobDetails(rt.store, user.id, await jobIdFrom(context));
  const workflow = rt.findWorkflow(job.workflowId);
  const steps = workflow?.config.steps ?? [];
  return Response.json({
    success: true,
    job: jobToJson(job),
    execution: executionToJson(job.execution),
    checkpoints: job.layout,
    steps: stepsToJson(job, steps),
    cost: costToJson(job),
    reruns: job.reruns.map(rerunToJson),
    ...(await jobTimeline(rt, job, workflow)),
  });
});
