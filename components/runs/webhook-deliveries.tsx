"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch, shouldRetryQuery } from "@/components/api/client";
import { cardClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";

interface Delivery {
  id: string;
  event_id: number;
  event: string;
  status: "pending" | "delivered" | "failed";
  attempts: number;
  next_attempt_at: string | null;
  last_error: string | null;
  tries: { attempt: number; at: string; status_code: number | null; error: string | null; duration_ms: number }[];
}
interface JobWebhooks {
  webhook: { url: string; events: string[] } | null;
  deliveries: Delivery[];
}

const STATUS_TEXT: Record<Delivery["status"], string> = { pending: "Waiting to retry", delivered: "Delivered", failed: "Given up" };
const STATUS_CLASS: Record<Delivery["status"], string> = { pending: "text-amber-300", delivered: "text-emerald-300", failed: "text-red-300" };

/** The run's webhook deliveries (GET /jobs/<id>/webhooks), each with its attempts; nothing for a run without a webhook. */
export function WebhookDeliveries({ jobId, live }: { jobId: string; live: boolean }) {
  const query = useQuery({
    queryKey: ["job-webhooks", jobId],
    queryFn: () => apiFetch<JobWebhooks>(`/jobs/${jobId}/webhooks`),
    retry: shouldRetryQuery,
    // Deliveries go on after the run ends (retries): keep looking while any waits.
    refetchInterval: (q) => (live || q.state.data?.deliveries.some((d) => d.status === "pending") ? 3000 : false),
  });
  const data = query.data;
  if (!data?.webhook) return null;
  return (
    <section aria-labelledby="webhook-deliveries-title" className={`${cardClass} p-5`} data-testid="webhook-deliveries">
      <h2 id="webhook-deliveries-title" className="text-base font-semibold text-white">
        Webhook deliveries
      </h2>
      <p className="mt-1 break-all text-sm text-slate-400">
        {data.webhook.events.join(", ")} → <span className="font-mono text-slate-300">{data.webhook.url}</span>
      </p>
      {data.deliveries.length === 0 ? (
        <p className="mt-3 text-sm text-slate-400">Nothing to deliver yet.</p>
      ) : (
        <ol className="mt-3 space-y-2">
          {data.deliveries.map((delivery) => (
            <li key={delivery.id} className="rounded-lg border border-slate-800 p-3 text-sm" data-testid="webhook-delivery" data-status={delivery.status}>
              <div className="flex flex-wrap items-baseline gap-x-3 gap-y-1">
                <span className="font-medium text-slate-100">{delivery.event}</span>
                <span className={STATUS_CLASS[delivery.status]}>{STATUS_TEXT[delivery.status]}</span>
                <span className="font-mono text-xs text-slate-400">{delivery.id}</span>
              </div>
              {delivery.tries.length > 0 && (
                <ul className="mt-1 space-y-0.5 text-xs text-slate-300">
                  {delivery.tries.map((attempt) => (
                    <li key={attempt.attempt}>
                      Attempt {attempt.attempt}, <RelativeTime iso={attempt.at} />: {attempt.status_code !== null ? `answered ${attempt.status_code}` : attempt.error} ({attempt.duration_ms} ms)
                    </li>
                  ))}
                </ul>
              )}
              {delivery.status === "pending" && delivery.next_attempt_at && <p className="mt-1 text-xs text-slate-400">
                  Next attempt <RelativeTime iso={delivery.next_attempt_at} />
                </p>}
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
