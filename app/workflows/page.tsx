import type { Metadata } from "next";
import { Zap } from "lucide-react";
import { requirePageUser } from "@/lib/auth/page-session";
import { WorkflowRunner } from "@/components/workflows/workflow-runner";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "AI Workflow Engine" };

function first(value: string | string[] | undefined): string | null {
  const one = Array.isArray(value) ? value[0] : value;
  return one && one.length <= 100 ? one : null;
}

export default async function WorkflowsPage({ searchParams }: { searchParams: Promise<Record<string, string | string[] | undefined>> }) {
  const params = await searchParams;
  const query = new URLSearchParams(Object.entries(params).flatMap(([key, value]) => (typeof value === "string" ? [[key, value]] : [])));
  await requirePageUser(runtime(), `/workflows${query.size > 0 ? `?${query}` : ""}`);
  const jobId = first(params.job);
  const fromJobId = first(params.from);
  const isJobId = (id: string | null) => (id && /^[0-9a-f-]{36}$/i.test(id) ? id : null);
  return (
    <div className="space-y-6">
      <header className="flex items-start gap-4">
        <span aria-hidden className="flex size-12 shrink-0 items-center justify-center rounded-2xl bg-amber-500/15 text-amber-400 ring-1 ring-amber-500/30">
          <Zap className="size-6" />
        </span>
        <div>
          <h1 className="text-2xl font-semibold tracking-tight text-white">AI Workflow Engine</h1>
          <p className="mt-1 text-sm text-slate-400">Multi-step AI transformations: every step is checkpointed, paused runs resume on their own.</p>
        </div>
      </header>
      <WorkflowRunner initialWorkflowId={first(params.workflow)} initialJobId={isJobId(jobId)} fromJobId={isJobId(fromJobId)} />
    </div>
  );
}
