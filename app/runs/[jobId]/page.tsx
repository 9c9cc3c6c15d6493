import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { ArrowLeft } from "lucide-react";
import { isApiError } from "@/lib/api/errors";
import { jobIdSchema } from "@/lib/api/schemas";
import { requirePageUser } from "@/lib/auth/page-session";
import { getOwnJob } from "@/lib/jobs/service";
import { JobPanel } from "@/components/jobs/job-panel";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Run" };

export default async function RunPage({ params }: { params: Promise<{ jobId: string }> }) {
  const { jobId } = await params;
  const user = await requirePageUser(runtime(), `/runs/${encodeURIComponent(jobId)}`);
  // Another user's run is as absent as a missing one: a 404, not a 403.
  if (!jobIdSchema.safeParse(jobId).success) notFound();
  try {
    await getOwnJob(runtime().store, user.id, jobId);
  } catch (error) {
    if (isApiError(error) && error.code === "not_found") notFound();
    throw error;
  }
  return (
    <div className="space-y-6">
      <div>
        <Link href="/runs" className="inline-flex items-center gap-1 rounded text-sm text-slate-400 hover:text-white">
          <ArrowLeft aria-hidden className="size-4" />
          All runs
        </Link>
        <h1 className="mt-2 text-2xl font-semibold tracking-tight text-white">Run</h1>
        <p className="mt-1 font-mono text-xs text-slate-500">{jobId}</p>
      </div>
      <JobPanel jobId={jobId} detailed />
    </div>
  );
}
