"use client";

import { useEffect, useState } from "react";

/** The current time, ticking; null during server rendering and hydration so markup matches. */
export function useNow(intervalMs = 1000): number | null {
  const [now, setNow] = useState<number | null>(null);
  useEffect(() => {
    const tick = () => setNow(Date.now());
    // The first tick right after hydration, then every interval.
    const first = window.setTimeout(tick, 0);
    const timer = window.setInterval(tick, intervalMs);
    return () => {
      window.clearTimeout(first);
      window.clearInterval(timer);
    };
  }, [intervalMs]);
  return now;
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];

export function formatRelative(iso: string, now: number): string {
  const delta = new Date(iso).getTime() - now;
  if (Math.abs(delta) < 5000) return delta >= 0 ? "in a few seconds" : "just now";
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, ms] of UNITS) {
    if (Math.abs(delta) >= ms || unit === "second") return format.format(Math.round(delta / ms), unit);
  }
  return "";
}

export function formatDateTime(iso: string): string {
  return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
}

export function formatClock(iso: string): string {
  return new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" }).format(new Date(iso));
}

/** "3 minutes ago", with the exact date on hover and for assistive technology. */
export function RelativeTime({ iso, tickMs = 30_000 }: { iso: string; tickMs?: number }) {
  const now = useNow(tickMs);
  return (
    <time dateTime={iso} title={now === null ? undefined : formatDateTime(iso)} suppressHydrationWarning>
      {now === null ? "" : formatRelative(iso, now)}
    </time>
  );
}

/** A duration at the precision it needs: "0.4 s", "3.2 s", "48 s", "2 min 5 s", "1 h 4 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, ms) / 1000;
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds - minutes * 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** A moment at the precision it needs: the time with seconds for today, the date and time otherwise. */
export function formatMoment(iso: string, now: number): string {
  const date = new Date(iso);
  const sameDay = new Date(now).toDateString() === date.toDateString();
  return sameDay ? formatClock(iso) : formatDateTime(iso);
}
