"use client";

import { useMutation, useQueryClient } from "@tanstack/react-query";
import { RotateCcw, X } from "lucide-react";
import { useState } from "react";
import type { Job } from "@/components/api/types";
import { errorMessage, postJson } from "@/components/api/client";
import { runsQueryKey } from "@/components/jobs/use-job-live";
import { Spinner } from "@/components/ui/states";
import { buttonClass } from "@/components/ui/styles";

const CANCELABLE = ["queued", "running", "pending_retry"];
const RETRYABLE = ["failed", "pending_retry", "canceled"];
type BulkAnswer = { success: true; matched: number; canceled?: number; retried?: number; skipped: number };

/** The selected runs' actions: one POST /jobs/cancel or /jobs/retry with their ids. */
export function BulkBar({ selected, onDone }: { selected: Job[]; onDone(): void }) {
  const queryClient = useQueryClient();
  const [message, setMessage] = useState("");
  const act = useMutation({
    mutationFn: (action: "cancel" | "retry") => postJson<BulkAnswer>(`/jobs/${action}`, { job_ids: selected.map((job) => job.id) }),
    onSuccess: (answer, action) => {
      const done = action === "cancel" ? `Canceled ${answer.canceled ?? 0}` : `Retried ${answer.retried ?? 0}`;
      setMessage(`${done} of ${selected.length} selected run${selected.length === 1 ? "" : "s"}${answer.skipped ? ` (${answer.skipped} had changed meanwhile)` : ""}.`);
      onDone();
      void queryClient.invalidateQueries({ queryKey: runsQueryKey });
    },
    onError: (error) => setMessage(errorMessage(error)),
  });
  const cancelable = selected.filter((job) => CANCELABLE.includes(job.status)).length;
  const retryable = selected.filter((job) => RETRYABLE.includes(job.status)).length;
  return (
    <div role="group" aria-label="Selected runs" className="flex flex-wrap items-center gap-2" data-testid="bulk-bar">
      <span className="text-sm text-slate-300">{selected.length === 0 ? "Select runs to cancel or retry them together." : `${selected.length} selected`}</span>
      <button type="button" className={buttonClass("secondary", "sm")} disabled={cancelable === 0 || act.isPending} onClick={() => act.mutate("cancel")}>
        {act.isPending && act.variables === "cancel" ? <Spinner /> : <X aria-hidden className="size-4" />}
        Cancel selected{cancelable > 0 ? ` (${cancelable})` : ""}
      </button>
      <button type="button" className={buttonClass("secondary", "sm")} disabled={retryable === 0 || act.isPending} onClick={() => act.mutate("retry")}>
        {act.isPending && act.variables === "retry" ? <Spinner /> : <RotateCcw aria-hidden className="size-4" />}
        Retry selected{retryable > 0 ? ` (${retryable})` : ""}
      </button>
      <p role="status" className="min-h-5 w-full text-xs text-slate-300">
        {message}
      </p>
    </div>
  );
}
