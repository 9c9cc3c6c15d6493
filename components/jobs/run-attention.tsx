"use client";

import { useEffect, useRef, useState, useSyncExternalStore } from "react";
import { Bell, BellRing } from "lucide-react";
import type { JobStatus } from "@/lib/contract/events";
import { isActiveStatus } from "@/components/jobs/job-state";
import { buttonClass } from "@/components/ui/styles";

const BADGE: Partial<Record<JobStatus, string>> = {
  queued: "#38bdf8",
  running: "#38bdf8",
  pending_retry: "#fb923c",
  completed: "#34d399",
  failed: "#f87171",
};

/** The app icon (app/icon.svg) with a coloured dot: the run's state, visible from another tab. */
function badgedIcon(color: string): string {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="8" fill="#f59e0b"/><path d="M17.5 5 8 18h7l-1.5 9L24 14h-7l.5-9z" fill="#020617"/><circle cx="25" cy="25" r="7" fill="${color}" stroke="#020617" stroke-width="2"/></svg>`;
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function iconLinks(): HTMLLinkElement[] {
  return [...document.querySelectorAll<HTMLLinkElement>('link[rel~="icon"]')];
}

function describe(status: JobStatus, progress: number, stepLabel: string | undefined): string {
  switch (status) {
    case "queued":
      return "Queued";
    case "running":
      return `${progress}%${stepLabel ? ` · ${stepLabel}` : ""}`;
    case "pending_retry":
      return "Paused";
    case "awaiting_approval":
      return "Awaiting approval";
    case "awaiting_input":
      return "Pick a candidate";
    case "completed":
      return "Done";
    case "failed":
      return "Failed";
    case "canceled":
      return "Canceled";
  }
}

/**
 * While a run is followed: the tab's title and icon say how it is going, and when it ends while the
 * tab is in the background, a browser notification says so (if the person allowed them). Both are
 * put back when the run view goes away.
 */
export function useRunAttention({ status, progress, stepLabel, name }: { status: JobStatus; progress: number; stepLabel: string | undefined; name: string }) {
  const original = useRef<{ title: string; icons: string[]; ours: string | null } | null>(null);
  const active = isActiveStatus(status);
  // Only a run seen going counts as finishing now: opening an old run does not announce it.
  const [seenActive, setSeenActive] = useState(active);
  if (active && !seenActive) setSeenActive(true);
  const finishedNow = !active && seenActive;

  useEffect(() => {
    original.current = { title: document.title, icons: iconLinks().map((link) => link.href), ours: null };
    return () => {
      const saved = original.current;
      if (!saved) return;
      // Only our own title is put back: after a navigation the next page has set its own.
      if (document.title === saved.ours) document.title = saved.title;
      iconLinks().forEach((link, index) => {
        const href = saved.icons[index];
        if (href) link.href = href;
      });
    };
  }, []);

  useEffect(() => {
    const saved = original.current;
    if (!saved || (!active && !finishedNow)) return;
    saved.ours = `${describe(status, progress, stepLabel)} · ${name} · Montage`;
    document.title = saved.ours;
    const color = BADGE[status];
    if (color) for (const link of iconLinks()) link.href = badgedIcon(color);
  }, [active, finishedNow, status, progress, stepLabel, name]);

  useEffect(() => {
    if (!finishedNow || typeof Notification === "undefined" || Notification.permission !== "granted" || !document.hidden) return;
    const body = status === "completed" ? "The result is ready." : status === "failed" ? "The run failed; open it to see why." : "The run was canceled.";
    new Notification(`${name}: ${describe(status, 100, undefined).toLowerCase()}`, { body, tag: "montage-run" });
  }, [finishedNow, status, name]);
}

function subscribePermission(onChange: () => void): () => void {
  let stop = () => undefined as void;
  if (typeof navigator !== "undefined" && navigator.permissions) {
    void navigator.permissions
      .query({ name: "notifications" })
      .then((permission) => {
        permission.addEventListener("change", onChange);
        stop = () => permission.removeEventListener("change", onChange);
      })
      .catch(() => undefined);
  }
  return () => stop();
}

/** Offers browser notifications while a run is going, until the person has answered once. */
export function NotifyButton() {
  const permission = useSyncExternalStore(
    subscribePermission,
    () => (typeof Notification === "undefined" ? "unsupported" : Notification.permission),
    () => "unsupported",
  );
  const [asked, setAsked] = useState<NotificationPermission | null>(null);
  const state = asked ?? permission;
  if (state === "unsupported" || state === "denied") return null;
  if (state === "granted") {
    return (
      <span className="inline-flex items-center gap-1 text-xs text-slate-300">
        <BellRing aria-hidden className="size-3.5" />
        You will be notified
      </span>
    );
  }
  return (
    <button type="button" className={buttonClass("ghost", "sm")} onClick={() => void Notification.requestPermission().then(setAsked)}>
      <Bell aria-hidden className="size-4" />
      Notify me when done
    </button>
  );
}
