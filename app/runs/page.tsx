import type { Metadata } from "next";
import { requirePageUser } from "@/lib/auth/page-session";
import { RunList } from "@/components/runs/run-list";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Runs" };

export default async function RunsPage() {
  await requirePageUser(runtime(), "/runs");
  return (
    <div className="space-y-6">
      <header>
        <h1 className="text-2xl font-semibold tracking-tight text-white">Runs</h1>
        <p className="mt-1 text-sm text-slate-400">Every workflow you ran, newest first. Open one for its steps, checkpoints and errors.</p>
      </header>
      <RunList />
    </div>
  );
}
