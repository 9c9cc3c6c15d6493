import type { Metadata } from "next";
import { BudgetManager } from "@/components/settings/budget-manager";
import { requirePageUser } from "@/lib/auth/page-session";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Budget" };

export default async function BudgetPage() {
  await requirePageUser(runtime(), "/settings/budget");
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <header>
        <h1 className="text-2xl font-semibold tracking-tight text-white">Budget</h1>
        <p className="mt-1 text-sm text-slate-400">What your runs cost this month, and the most they may cost.</p>
      </header>
      <BudgetManager />
    </div>
  );
}
