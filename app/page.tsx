import Link from "next/link";
import { ArrowRight } from "lucide-react";
import { getSessionUser } from "@/lib/auth/page-session";
import { listWorkflows } from "@/lib/workflows/public";
import { ToolCatalog, type ToolCategory } from "@/components/catalog/tool-catalog";
import { buttonClass } from "@/components/ui/styles";
import { runtime } from "@/lib/server/runtime";

export const dynamic = "force-dynamic";

const WORKFLOW_COLORS = ["#f472b6", "#38bdf8", "#a78bfa", "#34d399", "#fb923c"];

function catalog(): ToolCategory[] {
  return [
    {
      id: "engines",
      label: "Engines",
      icon: "⚙️",
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
      icon: "🎬",
      description: "Installed workflows, ready to run on your images.",
      tools: listWorkflows(runtime().registry, runtime().config).map((workflow, index) => ({
        id: `workflow-${workflow.id}`,
        name: workflow.name,
        desc: workflow.description,
        icon: { emoji: workflow.icon },
        color: WORKFLOW_COLORS[index % WORKFLOW_COLORS.length]!,
        href: `/workflows?workflow=${encodeURIComponent(workflow.id)}`,
        meta: workflow.steps.map((step) => step.label).join(" → "),
      })),
    },
    {
      id: "developer",
      label: "Developer",
      icon: "🛠️",
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
  return (
    <div className="space-y-12">
      <section className="max-w-3xl">
        <p className="text-sm font-medium text-amber-300">Montage</p>
        <h1 className="mt-2 text-3xl font-semibold tracking-tight text-white sm:text-4xl">Turn an image into a video, one checkpointed step at a time.</h1>
        <p className="mt-4 text-base text-slate-400">
          Pick a tool, drop an image and watch every step run live. Runs survive restarts, pause while a provider is down and resume on their own.
        </p>
        <div className="mt-6 flex flex-wrap gap-3">
          <Link href="/workflows" className={buttonClass("primary", "lg")}>
            Open the AI Workflow Engine
            <ArrowRight aria-hidden className="size-5" />
          </Link>
          {!user && (
            <Link href="/signup" className={buttonClass("secondary", "lg")}>
              Create an account
            </Link>
          )}
        </div>
      </section>
      <ToolCatalog categories={catalog()} />
    </div>
  );
}
