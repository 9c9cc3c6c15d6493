import type { Metadata } from "next";
import { requirePageUser } from "@/lib/auth/page-session";
import { TokenManager } from "@/components/settings/token-manager";
import { WebhookSecret } from "@/components/settings/webhook-secret";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "API tokens" };

export default async function TokensPage() {
  await requirePageUser(runtime(), "/settings/tokens");
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <header>
        <h1 className="text-2xl font-semibold tracking-tight text-white">API tokens</h1>
        <p className="mt-1 text-sm text-slate-400">Tokens let scripts call the Montage API as you. Revoke any you no longer use.</p>
      </header>
      <TokenManager />
      <WebhookSecret />
    </div>
  );
}
