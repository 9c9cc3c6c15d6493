"use client";

import type { ExecutionDetails } from "@/components/api/types";
import { cardClass } from "@/components/ui/styles";
import { formatDuration, useNow } from "@/components/ui/time";

type Segment = ExecutionDetails["timeline"][number];

/** Each kind's colour and words. The bars are drawn over slate-800: every colour has at least 3:1 against it (WCAG 1.4.11). */
const KINDS = {
  queued: { bar: "bg-slate-400", text: "waiting in line", legend: "Waiting in line" },
  parked: { bar: "bg-amber-400", text: "parked", legend: "Parked (will retry, or awaiting approval)" },
  running: { bar: "bg-sky-400", text: "running", legend: "Running" },
  provider: { bar: "bg-violet-300", text: "provider's own time", legend: "Provider's own time" },
} as const;

const REASONS: Record<string, string> = {
  outage: "provider outage",
  quota: "out of credit",
  rate_limit: "rate limited",
  timeout: "timed out",
  auth: "credentials refused",
  awaiting_approval: "awaiting approval",
};

const reasonText = (reason: string | undefined) => (reason ? (REASONS[reason] ?? reason.replaceAll("_", " ")) : null);

function span(segment: Segment, now: number): { start: number; end: number } {
  return { start: new Date(segment.started_at).getTime(), end: segment.ended_at ? new Date(segment.ended_at).getTime() : now };
}

/** "waited 3.2 s · ran 12 s (provider 9.8 s) · parked 2 min 5 s (provider outage)": a step's bars in words. */
function stepSummary(segments: Segment[], now: number): string {
  const total = (kind: Segment["kind"]) => segments.filter((segment) => segment.kind === kind).reduce((sum, segment) => sum + span(segment, now).end - span(segment, now).start, 0);
  const parts: string[] = [];
  if (segments.some((segment) => segment.kind === "queued")) parts.push(`waited ${formatDuration(total("queued"))}`);
  const parked = segments.filter((segment) => segment.kind === "parked");
  if (parked.length > 0) {
    const reasons = [...new Set(parked.map((segment) => reasonText(segment.reason)).filter((reason) => reason !== null))];
    parts.push(`parked ${formatDuration(total("parked"))}${reasons.length > 0 ? ` (${reasons.join(", ")})` : ""}`);
  }
  if (segments.some((segment) => segment.kind === "running")) {
    const provider = segments.some((segment) => segment.kind === "provider") ? ` (provider ${formatDuration(total("provider"))})` : "";
    parts.push(`ran ${formatDuration(total("running"))}${provider}`);
  }
  return parts.length > 0 ? parts.join(" · ") : "not reached";
}

function Bars({ segments, from, length, now, thin = false }: { segments: Segment[]; from: number; length: number; now: number; thin?: boolean }) {
  return (
    <div aria-hidden className={`relative w-full overflow-hidden rounded bg-slate-800 ${thin ? "h-1.5" : "h-3"}`}>
      {segments.map((segment) => {
        const { start, end } = span(segment, now);
        return (
          <div
            key={`${segment.kind}-${segment.started_at}`}
            data-kind={segment.kind}
            className={`absolute inset-y-0 rounded-sm ${KINDS[segment.kind].bar}`}
            style={{ left: `${((start - from) / length) * 100}%`, width: `${((end - start) / length) * 100}%`, minWidth: "2px" }}
          />
        );
      })}
    </div>
  );
}

/**
 * The run's steps as bars on one time axis (the execution details' `timeline`): waiting in line,
 * parked with the reason, running, and under a run the provider's own time. Each step's bars are
 * also said in words beside them, and every segment is listed for screen readers.
 */
export function RunTimeline({ details }: { details: ExecutionDetails }) {
  const ticking = details.timeline.some((segment) => segment.ended_at === null);
  const clock = useNow(ticking ? 1000 : 60_000);
  const segments = details.timeline;
  if (segments.length === 0 || clock === null) {
    return (
      <section className={`${cardClass} p-5`} aria-labelledby="run-timeline">
        <h2 id="run-timeline" className="text-sm font-semibold text-slate-100">
          Timeline
        </h2>
        <p className="mt-1 text-xs text-slate-400">{segments.length === 0 ? "Nothing has happened yet." : "Loading…"}</p>
      </section>
    );
  }
  const now = clock;
  const from = Math.min(...segments.map((segment) => span(segment, now).start));
  const to = Math.max(...segments.map((segment) => span(segment, now).end));
  const length = Math.max(1, to - from);
  const offset = (iso: string) => formatDuration(new Date(iso).getTime() - from);
  return (
    <section className={`${cardClass} p-5`} aria-labelledby="run-timeline" data-testid="run-timeline">
      <h2 id="run-timeline" className="text-sm font-semibold text-slate-100">
        Timeline
      </h2>
      <p className="mt-1 text-xs text-slate-400">
        Where the time went, {formatDuration(length)} from the first wait in line{ticking ? " until now" : " to the end"}, each step on the same axis.
      </p>
      <ul className="mt-3 flex flex-wrap gap-x-4 gap-y-1 text-xs text-slate-300" aria-label="Legend">
        {Object.entries(KINDS).map(([kind, look]) => (
          <li key={kind} className="inline-flex items-center gap-1.5">
            <span aria-hidden className={`inline-block h-2.5 w-4 rounded-sm ${look.bar}`} />
            {look.legend}
          </li>
        ))}
      </ul>
      <ol className="mt-4 space-y-3">
        {details.steps.map((step, index) => {
          const own = segments.filter((segment) => segment.step === index);
          const main = own.filter((segment) => segment.kind !== "provider");
          const provider = own.filter((segment) => segment.kind === "provider");
          return (
            <li key={step.name} data-testid={`timeline-step-${index}`}>
              <div className="flex flex-wrap items-baseline justify-between gap-x-3 text-sm">
                <span className="font-medium text-slate-100">
                  {index + 1}. {step.label}
                </span>
                <span className="text-xs text-slate-300" data-testid={`timeline-summary-${index}`}>
                  {stepSummary(own, now)}
                </span>
              </div>
              <div className="mt-1 space-y-0.5">
                <Bars segments={main} from={from} length={length} now={now} />
                {provider.length > 0 && <Bars segments={provider} from={from} length={length} now={now} thin />}
              </div>
              <ul className="sr-only">
                {own.map((segment) => (
                  <li key={`${segment.kind}-${segment.started_at}`}>
                    {KINDS[segment.kind].text}
                    {segment.reason ? ` (${reasonText(segment.reason)})` : ""} from {offset(segment.started_at)} to {segment.ended_at ? offset(segment.ended_at) : "now"}
                  </li>
                ))}
              </ul>
            </li>
          );
        })}
      </ol>
      <div aria-hidden className="mt-2 flex justify-between text-xs text-slate-400">
        <span>0 s</span>
        <span>{formatDuration(length)}</span>
      </div>
    </section>
  );
}
