"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Check, Copy, Eye, EyeOff, RefreshCw } from "lucide-react";
import { apiFetch, errorMessage, shouldRetryQuery } from "@/components/api/client";
import { ErrorState, Skeleton } from "@/components/ui/states";
import { buttonClass, cardClass, inputClass } from "@/components/ui/styles";

const secretQueryKey = ["webhook-secret"] as const;
type SecretAnswer = { success: true; secret: string };

/**
 * The webhook signing secret (GET /api/webhook-secret): hidden until asked for, copyable, and
 * rotatable after a confirmation (receivers must switch to the new one).
 */
export function WebhookSecret() {
  const queryClient = useQueryClient();
  const [shown, setShown] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [status, setStatus] = useState("");
  const query = useQuery({ queryKey: secretQueryKey, queryFn: () => apiFetch<SecretAnswer>("/api/webhook-secret"), retry: shouldRetryQuery });
  const rotate = useMutation({
    mutationFn: () => apiFetch<SecretAnswer>("/api/webhook-secret", { method: "POST" }),
    onSuccess: (answer) => {
      queryClient.setQueryData(secretQueryKey, answer);
      setConfirming(false);
      setStatus("A new secret was made. Deliveries from now on are signed with it.");
    },
  });
  const copy = async (secret: string) => {
    try {
      await navigator.clipboard.writeText(secret);
      setStatus("Copied to the clipboard.");
    } catch {
      setShown(true);
      setStatus("Copying is not allowed here: show the secret and copy it by hand.");
    }
  };

  return (
    <section aria-labelledby="webhook-secret-title" className={`${cardClass} p-5`} data-testid="webhook-secret">
      <h2 id="webhook-secret-title" className="text-base font-semibold text-white">
        Webhook signing secret
      </h2>
      <p className="mt-1 text-sm text-slate-400">
        Runs started with a <code className="font-mono">webhook_url</code> are delivered with Standard Webhooks signatures made with this secret. Verify them with any
        Standard Webhooks library.
      </p>
      {query.isPending ? (
        <Skeleton className="mt-3 h-10 w-full" />
      ) : query.isError ? (
        <div className="mt-3">
          <ErrorState title="The secret could not be loaded" message={errorMessage(query.error)} />
        </div>
      ) : (
        <div className="mt-3 flex flex-col gap-2 sm:flex-row">
          <label htmlFor="webhook-secret-value" className="sr-only">
            Webhook signing secret
          </label>
          <input
            id="webhook-secret-value"
            readOnly
            type={shown ? "text" : "password"}
            value={query.data.secret}
            className={`${inputClass} font-mono`}
            data-testid="webhook-secret-value"
          />
          <button type="button" className={buttonClass("secondary")} onClick={() => setShown((value) => !value)} aria-pressed={shown}>
            {shown ? <EyeOff aria-hidden className="size-4" /> : <Eye aria-hidden className="size-4" />}
            {shown ? "Hide" : "Show"}
          </button>
          <button type="button" className={buttonClass("secondary")} onClick={() => void copy(query.data.secret)}>
            {status.startsWith("Copied") ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
            {/* Named for what it copies: the page also has a new token's Copy button. */}
            Copy secret
          </button>
        </div>
      )}
      <div className="mt-3 flex flex-wrap items-center gap-2">
        {confirming ? (
          <>
            <span className="text-sm text-slate-200">Receivers using the old secret will reject new deliveries.</span>
            <button type="button" className={buttonClass("danger", "sm")} onClick={() => rotate.mutate()} disabled={rotate.isPending}>
              <RefreshCw aria-hidden className="size-4" />
              Rotate now
            </button>
            <button type="button" className={buttonClass("ghost", "sm")} onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </>
        ) : (
          <button type="button" className={buttonClass("secondary", "sm")} onClick={() => setConfirming(true)} disabled={!query.isSuccess}>
            <RefreshCw aria-hidden className="size-4" />
            Rotate secret
          </button>
        )}
      </div>
      <p role="status" className="mt-2 min-h-5 text-xs text-slate-300">
        {rotate.isError ? errorMessage(rotate.error) : status}
      </p>
    </section>
  );
}
