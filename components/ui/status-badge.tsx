import { Ban, CircleCheckBig, CircleX, Clock, Hand, Hourglass, LoaderCircle } from "lucide-react";
import type { JobStatus } from "@/lib/contract/events";

const STATUS: Record<JobStatus, { label: string; className: string; Icon: typeof Clock; spin?: boolean }> = {
  queued: { label: "Queued", className: "border-slate-600 bg-slate-800 text-slate-200", Icon: Hourglass },
  running: { label: "Running", className: "border-sky-500/40 bg-sky-500/10 text-sky-200", Icon: LoaderCircle, spin: true },
  pending_retry: { label: "Waiting to retry", className: "border-amber-500/40 bg-amber-500/10 text-amber-200", Icon: Clock },
  awaiting_approval: { label: "Awaiting approval", className: "border-violet-400/50 bg-violet-500/10 text-violet-200", Icon: Hand },
  awaiting_input: { label: "Awaiting your pick", className: "border-violet-400/50 bg-violet-500/10 text-violet-200", Icon: Hand },
  completed: { label: "Completed", className: "border-emerald-500/40 bg-emerald-500/10 text-emerald-200", Icon: CircleCheckBig },
  failed: { label: "Failed", className: "border-red-500/40 bg-red-500/10 text-red-200", Icon: CircleX },
  canceled: { label: "Canceled", className: "border-slate-600 bg-slate-800 text-slate-300", Icon: Ban },
};

export function statusLabel(status: JobStatus): string {
  return STATUS[status].label;
}

export function StatusBadge({ status }: { status: JobStatus }) {
  const { label, className, Icon, spin } = STATUS[status];
  return (
    <span data-status={status} className={`inline-flex shrink-0 items-center gap-1.5 rounded-full border px-2.5 py-0.5 text-xs font-medium ${className}`}>
      <Icon aria-hidden className={`size-3.5 ${spin ? "animate-spin motion-reduce:animate-none" : ""}`} />
      {label}
    </span>
  );
}
