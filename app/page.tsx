import Link from "next/link";
import { ArrowRight, History } from "lucide-react";
import { getSessionUser } from "@/lib/auth/page-session";
import { readExamples } from "@/lib/examples/manifest";
import { listPricedWorkflows } from "@/lib/jobs/costs";
import { ToolCatalog, type ToolCategory } from "@/components/catalog/tool-catalog";
import { Examples } from "@/components/home/examples";
import { buttonClass } from "@/components/ui/styles";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

const WORKFLOW_COLORS = ["#f472b6", "#38bdf8", "#a78bfa", "#34d399", "#fb923c"];

function catalog(): ToolCategory[] {
  return [
    {
      id: "engines",
      label: "Engines",
      icon: "cog",
      description: "The machinery that runs multi-step jobs, retries them and keeps every checkpoint.",
      tools: [
        {
          id: "workflow-engine",
          name: "AI Workflow Engine",
          desc: "Multi-step AI transformations",
          icon: { lucide: "zap" },
          color: "#f59e0b",
          href: "/workflows",
        },
      ],
    },
    {
      id: "workflows",
      label: "Workflows",
      icon: "clapperboard",
      description: "Installed workflows, ready to run: from your image or from a prompt alone.",
      tools: listPricedWorkflows(runtime()).map((workflow, index) => ({
        id: `workflow-${workflow.id}`,
        name: workflow.name,
        desc: workflow.description,
        icon: { workflow: workflow.icon },
        color: WORKFLOW_COLORS[index % WORKFLOW_COLORS.length]!,
        href: `/workflows?workflow=${encodeURIComponent(workflow.id)}`,
        meta: workflow.steps.map((step) => step.label).join(" → "),
      })),
    },
    {
      id: "developer",
      label: "Developer",
      icon: "wrench",
      description: "Follow your runs and drive Montage from scripts.",
      tools: [
        { id: "run-history", name: "Run history", desc: "Every run with its steps, checkpoints and outputs", icon: { lucide: "history" }, color: "#38bdf8", href: "/runs" },
        { id: "api-tokens", name: "API tokens", desc: "Create and revoke tokens for the HTTP API", icon: { lucide: "key" }, color: "#a78bfa", href: "/settings/tokens" },
        {
          id: "api-reference",
          name: "API reference",
          desc: "The OpenAPI document of every endpoint",
          icon: { lucide: "book" },
          color: "#34d399",
          href: "/api/openapi.json",
          external: true,
        },
      ],
    },
  ];
}

export default async function HomePage() {
  const user = await getSessionUser(runtime());
  const examples = await readExamples();
  const toRunner = encodeURIComponent("/workflows");
  return (
    <div className="space-y-12">
      <section className="max-w-3xl">
        <p className="text-sm font-medium text-amber-300">Montage</p>
        <h1 className="mt-2 text-3xl font-semibold tracking-tight text-white sm:text-4xl">Turn a photo into a short video, one step at a time.</h1>
        <p className="mt-4 text-base text-slate-300">
          Drop an image, say how it should change, and watch each step run live: an AI edit, then a video. Runs keep going when you close the tab, and
          pause and resume by themselves when a provider has trouble.
        </p>
        <div className="mt-6 flex flex-wrap items-center gap-3">
          {user ? (
            <>
              <Link href="/workflows" className={buttonClass("primary", "lg")}>
                Open the AI Workflow Engine
                <ArrowRight aria-hidden className="size-5" />
              </Link>
              <Link href="/runs" className={buttonClass("secondary", "lg")}>
                <History aria-hidden className="size-5" />
                Your runs
              </Link>
            </>
          ) : (
            <>
              <Link href={`/signup?callbackUrl=${toRunner}`} className={buttonClass("primary", "lg")}>
                Get started: create an account
                <ArrowRight aria-hidden className="size-5" />
              </Link>
              <p className="text-sm text-slate-300">
                Have an account?{" "}
                <Link href={`/signin?callbackUrl=${toRunner}`} className="font-medium text-amber-300 underline underline-offset-2 hover:text-amber-200">
                  Sign in
                </Link>
              </p>
            </>
          )}
        </div>
      </section>
      <Examples examples={examples} />
      <ToolCatalog categories={catalog()} />
    </div>
  );
}
