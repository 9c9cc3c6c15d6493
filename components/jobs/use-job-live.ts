"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { isTerminalStatus, JOB_EVENT_TYPES, type JobEventType } from "@/lib/contract/events";
import { apiFetch, shouldRetryQuery } from "@/components/api/client";
import type { ExecutionDetails } from "@/components/api/types";
import { applyJobEvent, emptyJobView, jobViewFromSnapshot, type JobEvent, type JobView } from "@/components/jobs/job-state";

export type StreamState = "connecting" | "live" | "reconnecting" | "ended" | "offline";

export const jobQueryKey = (jobId: string) => ["job", jobId] as const;
export const runsQueryKey = ["runs"] as const;

/** Events are folded at most this often: a replay lands in one render, and progress stays smooth. */
const FLUSH_MS = 50;
/** Reconnect delays after a dropped stream: 0.5 s, doubling, at most 15 s. */
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 15_000;

/**
 * A job, live: its snapshot through TanStack Query plus its SSE stream folded into a JobView. When
 * the stream drops, it reconnects (with backoff) from the last event it folded in (`last_event_id`),
 * so the server replays exactly what was missed, and refetches the snapshot as well. The reconnects
 * are done here rather than left to EventSource, so that they resume from the right event even
 * after the server refused a connection (EventSource gives up then). Mount it keyed by job id: the
 * folded state belongs to one job.
 */
export function useJobLive(jobId: string) {
  const queryClient = useQueryClient();
  const [stream, setStream] = useState<StreamState>("connecting");
  const details = useQuery({
    queryKey: jobQueryKey(jobId),
    queryFn: ({ signal }) => apiFetch<ExecutionDetails>(`/workflows/execution/${jobId}`, { signal }),
    retry: shouldRetryQuery,
    // Without a stream, fall back to polling.
    refetchInterval: stream === "offline" || stream === "reconnecting" ? 5000 : false,
  });
  const [live, setLive] = useState<JobView | null>(null);
  const liveRef = useRef<JobView | null>(null);
  const [generation, setGeneration] = useState(0);
  const connectedBefore = useRef(false);
  const failures = useRef(0);
  const canStream = details.data !== undefined;

  useEffect(() => {
    if (!canStream) return;
    const lastEventId = liveRef.current?.lastEventId ?? 0;
    const source = new EventSource(`/jobs/${jobId}/stream${lastEventId > 0 ? `?last_event_id=${lastEventId}` : ""}`);
    let pending: JobEvent[] = [];
    let flushTimer: number | undefined;
    let reconnectTimer: number | undefined;

    const refreshSnapshot = () => void queryClient.invalidateQueries({ queryKey: jobQueryKey(jobId) });
    const flush = () => {
      window.clearTimeout(flushTimer);
      flushTimer = undefined;
      if (pending.length === 0) return;
      let view = liveRef.current ?? emptyJobView;
      const types = new Set(pending.map((event) => event.type));
      for (const event of pending) view = applyJobEvent(view, event);
      pending = [];
      liveRef.current = view;
      setLive(view);
      // Step boundaries change what the snapshot knows (timestamps, attempts, result).
      if (types.has("checkpoint") || types.has("retry_scheduled") || types.has("complete") || types.has("error")) {
        refreshSnapshot();
        void queryClient.invalidateQueries({ queryKey: runsQueryKey });
      }
    };
    const listener = (type: JobEventType) => (message: Event) => {
      // "error" is both an SSE event name of the contract and EventSource's connection error.
      if (!(message instanceof MessageEvent) || typeof message.data !== "string") return;
      let data: unknown;
      try {
        data = JSON.parse(message.data);
      } catch {
        return;
      }
      pending.push({ id: Number(message.lastEventId), type, data } as JobEvent);
      flushTimer ??= window.setTimeout(flush, FLUSH_MS);
    };
    for (const type of JOB_EVENT_TYPES) source.addEventListener(type, listener(type));

    source.addEventListener("open", () => {
      setStream("live");
      failures.current = 0;
      // Back after a drop: the replay covers the events, the snapshot the rest (attempts, timestamps).
      if (connectedBefore.current) refreshSnapshot();
      connectedBefore.current = true;
    });
    source.addEventListener("error", (event) => {
      if (event instanceof MessageEvent) return;
      flush();
      const refused = source.readyState === EventSource.CLOSED;
      source.close();
      if (!refused && liveRef.current && isTerminalStatus(liveRef.current.status)) {
        // The server closes the stream once the job has ended and every event is sent.
        setStream("ended");
        return;
      }
      // Dropped (or refused: signed out, server error): poll the snapshot meanwhile, and reconnect.
      setStream(refused ? "offline" : "reconnecting");
      refreshSnapshot();
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** failures.current);
      failures.current += 1;
      reconnectTimer = window.setTimeout(() => setGeneration((value) => value + 1), delay);
    });
    return () => {
      source.close();
      window.clearTimeout(flushTimer);
      window.clearTimeout(reconnectTimer);
    };
  }, [canStream, jobId, generation, queryClient]);

  /** After Retry: the stream of an ended job was closed; follow it again from the last event seen. */
  const resume = useCallback(() => {
    setStream("connecting");
    setGeneration((value) => value + 1);
  }, []);

  const snapshotView = useMemo(() => (details.data ? jobViewFromSnapshot(details.data) : null), [details.data]);
  const view = stream !== "offline" && live ? live : (snapshotView ?? live);
  return { details, view, stream, resume };
}
