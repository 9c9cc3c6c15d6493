"use client";

import Link from "next/link";
import { useId, useState } from "react";
import { ArrowRight, BookOpen, Clapperboard, Cog, History, KeyRound, Search, Sparkles, Wrench, Zap } from "lucide-react";
import { inputClass } from "@/components/ui/styles";
import { WorkflowIcon } from "@/components/ui/workflow-icon";

/** Lucide icons by name: server components pass names, since components cannot cross to the client. */
const ICONS = { zap: Zap, history: History, key: KeyRound, book: BookOpen, sparkles: Sparkles, cog: Cog, clapperboard: Clapperboard, wrench: Wrench } as const;
export type ToolIconName = keyof typeof ICONS;

export interface Tool {
  id: string;
  name: string;
  desc: string;
  href: string;
  color: string;
  /** A lucide icon, or a workflow's own icon (an emoji, drawn with a fallback). */
  icon: { lucide: ToolIconName } | { workflow: string };
  meta?: string;
  /** Plain link (e.g. a JSON document), not client-side navigation. */
  external?: boolean;
}

export interface ToolCategory {
  id: string;
  label: string;
  icon: ToolIconName;
  description: string;
  tools: Tool[];
}

function ToolIcon({ icon }: { icon: Tool["icon"] }) {
  if ("workflow" in icon) return <WorkflowIcon icon={icon.workflow} />;
  const Icon = ICONS[icon.lucide];
  return <Icon className="size-5" />;
}

function CategoryIcon({ name, className }: { name: ToolIconName; className: string }) {
  const Icon = ICONS[name];
  return <Icon aria-hidden className={className} />;
}

function ToolCard({ tool }: { tool: Tool }) {
  const content = (
    <>
      <span
        aria-hidden
        className="flex size-11 shrink-0 items-center justify-center rounded-xl text-xl"
        style={{ backgroundColor: `${tool.color}1f`, color: tool.color, boxShadow: `inset 0 0 0 1px ${tool.color}40` }}
      >
        <ToolIcon icon={tool.icon} />
      </span>
      <span className="min-w-0 flex-1">
        <span className="flex items-center justify-between gap-2">
          <span className="font-semibold text-slate-100">{tool.name}</span>
          <ArrowRight aria-hidden className="size-4 shrink-0 text-slate-400 transition-transform group-hover:translate-x-0.5 group-hover:text-slate-300" />
        </span>
        <span className="mt-1 block text-sm text-slate-400">{tool.desc}</span>
        {tool.meta && <span className="mt-2 block text-xs text-slate-400">{tool.meta}</span>}
      </span>
    </>
  );
  const className =
    "group flex h-full gap-4 rounded-2xl border border-slate-800 bg-slate-900 p-4 transition-colors hover:border-slate-600 hover:bg-slate-900";
  return (
    <li>
      {tool.external ? (
        <a href={tool.href} className={className} data-testid={`tool-${tool.id}`}>
          {content}
        </a>
      ) : (
        <Link href={tool.href} className={className} data-testid={`tool-${tool.id}`}>
          {content}
        </Link>
      )}
    </li>
  );
}

/** The home page's catalog: categories to filter by, a search box, and the tools as cards. */
export function ToolCatalog({ categories }: { categories: ToolCategory[] }) {
  const [active, setActive] = useState<string>("all");
  const [query, setQuery] = useState("");
  const searchId = useId();
  const needle = query.trim().toLowerCase();
  const shown = categories
    .filter((category) => active === "all" || category.id === active)
    .map((category) => ({
      ...category,
      tools: category.tools.filter((tool) => !needle || `${tool.name} ${tool.desc}`.toLowerCase().includes(needle)),
    }))
    .filter((category) => category.tools.length > 0);
  const tabs: { id: string; label: string; icon: ToolIconName }[] = [{ id: "all", label: "All", icon: "sparkles" }, ...categories];

  return (
    <div className="space-y-8">
      <div className="flex flex-col gap-4 sm:flex-row sm:items-center sm:justify-between">
        <div role="group" aria-label="Categories" className="-mx-1 flex gap-2 overflow-x-auto px-1 pb-1">
          {tabs.map((tab) => (
            <button
              key={tab.id}
              type="button"
              aria-pressed={active === tab.id}
              onClick={() => setActive(tab.id)}
              className={`inline-flex h-9 shrink-0 items-center gap-2 rounded-full border px-4 text-sm transition-colors ${
                active === tab.id ? "border-amber-400 bg-amber-950 text-amber-100" : "border-slate-700 text-slate-300 hover:border-slate-500 hover:text-white"
              }`}
            >
              <CategoryIcon name={tab.icon} className="size-4" />
              {tab.label}
            </button>
          ))}
        </div>
        <div className="relative sm:w-64">
          <label htmlFor={searchId} className="sr-only">
            Search tools
          </label>
          <Search aria-hidden className="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-slate-400" />
          <input id={searchId} type="search" value={query} onChange={(event) => setQuery(event.currentTarget.value)} placeholder="Search tools" className={`${inputClass} pl-9`} />
        </div>
      </div>

      {shown.length === 0 ? (
        <p className="rounded-2xl border border-slate-800 p-8 text-center text-sm text-slate-400" role="status">
          No tools match “{query}”.
        </p>
      ) : (
        shown.map((category) => (
          <section key={category.id} aria-labelledby={`category-${category.id}`} data-testid={`category-${category.id}`}>
            <h2 id={`category-${category.id}`} className="flex items-center gap-2 text-lg font-semibold text-white">
              <CategoryIcon name={category.icon} className="size-5 text-amber-300" />
              {category.label}
            </h2>
            <p className="mt-1 text-sm text-slate-400">{category.description}</p>
            <ul className="mt-4 grid gap-3 sm:grid-cols-2 lg:grid-cols-3">
              {category.tools.map((tool) => (
                <ToolCard key={tool.id} tool={tool} />
              ))}
            </ul>
          </section>
        ))
      )}
    </div>
  );
}
