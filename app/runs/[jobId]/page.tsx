import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ArrowLeft } from "lucide-react";
import { isApiError } from "@/lib/api/errors";
import { jobIdSchema } from "@/lib/api/schemas";
import { requirePageUser } from "@/lib/auth/page-session";
import { getOwnJob } from "@/lib/jobs/service";
import { runtime } from "@/lib/server/runtime";
import { listPricedWorkflows } from "@/lib/jobs/costs";
import { JobPanel } from "@/components/jobs/job-panel";
import { firstWords, runPrompt } from "@/components/runs/run-title";

export const dynamic = "force-dynamic";

type Props = { params: Promise<{ jobId: string }> };

/** The run as a person knows it: its workflow and its prompt; null when it is not theirs (or not a run). */
async function loadTitle(jobId: string, user: { id: string }) {
  // Another user's run is as absent as a missing one: a 404, not a 403.
  if (!jobIdSchema.safeParse(jobId).success) return null;
  try {
    const rt = runtime();
    const job = await getOwnJob(rt.store, user.id, jobId);
    const workflow = listPricedWorkflows(rt).find((candidate) => candidate.id === job.workflowId);
    const prompt = runPrompt({ inputs: (job.inputs ?? {}) as Record<string, string> }, workflow);
    return { workflow: workflow?.name ?? job.workflowId, prompt: prompt ? firstWords(prompt, 12) : undefined };
  } catch (error) {
    if (isApiError(error) && error.code === "not_found") return null;
    throw error;
  }
}

export async function generateMetadata({ params }: Props): Promise<Metadata> {
  const { jobId } = await params;
  const user = await requirePageUser(runtime(), `/runs/${encodeURIComponent(jobId)}`);
  const title = await loadTitle(jobId, user);
  return { title: title ? `${title.prompt ? `${firstWords(title.prompt, 6)} · ` : ""}${title.workflow}` : "Run" };
}

export default async function RunPage({ params }: Props) {
  const { jobId } = await params;
  const user = await requirePageUser(runtime(), `/runs/${encodeURIComponent(jobId)}`);
  const title = await loadTitle(jobId, user);
  if (!title) notFound();
  return (
    <div className="space-y-6">
      <div>
        <Link href="/runs" className="inline-flex items-center gap-1 rounded text-sm text-slate-300 hover:text-white">
          <ArrowLeft aria-hidden className="size-4" />
          All runs
        </Link>
        <p className="mt-3 text-sm font-medium text-amber-300">{title.workflow}</p>
        <h1 className="mt-1 text-2xl font-semibold tracking-tight text-white">{title.prompt ? `“${title.prompt}”` : title.workflow}</h1>
      </div>
      <JobPanel jobId={jobId} detailed />
    </div>
  );
}
