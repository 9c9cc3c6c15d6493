import type { ReactNode } from "react";
import { LoaderCircle, TriangleAlert } from "lucide-react";
import { cardClass } from "@/components/ui/styles";

export function Spinner({ className = "size-4" }: { className?: string }) {
  return <LoaderCircle aria-hidden className={`${className} animate-spin motion-reduce:animate-none`} />;
}

export function EmptyState({ icon, title, children, action }: { icon: ReactNode; title: string; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className={`${cardClass} flex flex-col items-center px-6 py-12 text-center`}>
      <div className="mb-4 flex size-12 items-center justify-center rounded-full bg-slate-800 text-slate-300">{icon}</div>
      <h2 className="text-base font-semibold text-slate-100">{title}</h2>
      {children && <div className="mt-1 max-w-md text-sm text-slate-400">{children}</div>}
      {action && <div className="mt-5">{action}</div>}
    </div>
  );
}

export function ErrorState({ title, message, action }: { title: string; message: string; action?: ReactNode }) {
  return (
    <div role="alert" className="flex items-start gap-3 rounded-2xl border border-red-500/30 bg-red-500/10 p-4 text-sm">
      <TriangleAlert aria-hidden className="mt-0.5 size-5 shrink-0 text-red-300" />
      <div className="min-w-0 flex-1">
        <p className="font-medium text-red-100">{title}</p>
        <p className="mt-1 break-words text-red-200">{message}</p>
        {action && <div className="mt-3">{action}</div>}
      </div>
    </div>
  );
}

export function Skeleton({ className }: { className: string }) {
  return <div aria-hidden className={`animate-pulse rounded-lg bg-slate-800/70 motion-reduce:animate-none ${className}`} />;
}
