"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useRef, useState, type FormEvent } from "react";
import { Check, Copy, KeyRound, Plus, Trash2 } from "lucide-react";
import { apiFetch, errorMessage, postJson, shouldRetryQuery } from "@/components/api/client";
import type { ApiTokenRecord } from "@/components/api/types";
import { EmptyState, ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { buttonClass, cardClass, inputClass, labelClass } from "@/components/ui/styles";
import { RelativeTime } from "@/components/ui/time";

const tokensQueryKey = ["tokens"] as const;

function NewToken({ token, name, onDone }: { token: string; name: string; onDone: () => void }) {
  const [copied, setCopied] = useState<"yes" | "failed" | null>(null);
  const fieldRef = useRef<HTMLInputElement>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(token);
      setCopied("yes");
    } catch {
      // No clipboard permission: select the text so the person can copy it by hand.
      fieldRef.current?.select();
      setCopied("failed");
    }
  };
  return (
    <section role="region" aria-labelledby="new-token-title" className="rounded-2xl border border-emerald-500/40 bg-emerald-500/10 p-5" data-testid="new-token">
      <h2 id="new-token-title" className="text-sm font-semibold text-emerald-100">
        Token “{name}” created
      </h2>
      <p className="mt-1 text-sm text-emerald-100">Copy it now: it is shown only once. Send it as <code className="font-mono">Authorization: Bearer &lt;token&gt;</code>.</p>
      <div className="mt-3 flex flex-col gap-2 sm:flex-row">
        <label htmlFor="new-token-value" className="sr-only">
          New API token
        </label>
        <input
          id="new-token-value"
          ref={fieldRef}
          readOnly
          value={token}
          onFocus={(event) => event.currentTarget.select()}
          className={`${inputClass} font-mono`}
          data-testid="new-token-value"
        />
        <button type="button" className={buttonClass("primary")} onClick={() => void copy()}>
          {copied === "yes" ? <Check aria-hidden className="size-4" /> : <Copy aria-hidden className="size-4" />}
          {copied === "yes" ? "Copied" : "Copy"}
        </button>
      </div>
      <p role="status" className="mt-2 min-h-5 text-xs text-emerald-100">
        {copied === "yes" ? "Copied to the clipboard." : copied === "failed" ? "Copying is not allowed here: the token is selected, press Ctrl+C (⌘C)." : ""}
      </p>
      <button type="button" className={`${buttonClass("secondary", "sm")} mt-1`} onClick={onDone}>
        I have saved it
      </button>
    </section>
  );
}

function TokenRow({ token }: { token: ApiTokenRecord }) {
  const queryClient = useQueryClient();
  const [confirming, setConfirming] = useState(false);
  const revoke = useMutation({
    mutationFn: () => apiFetch<{ success: true }>(`/api/tokens/${token.id}`, { method: "DELETE" }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: tokensQueryKey }),
  });
  const revoked = token.revoked_at !== null;
  return (
    <li className="flex flex-col gap-3 p-4 sm:flex-row sm:items-center" data-testid="token-row" data-token-name={token.name} data-revoked={revoked}>
      <div className="min-w-0 flex-1">
        <p className="flex flex-wrap items-center gap-2">
          <span className={`font-medium ${revoked ? "text-slate-400 line-through" : "text-slate-100"}`}>{token.name}</span>
          <code className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-xs text-slate-300">{token.prefix}…</code>
          {revoked && <span className="rounded-full border border-slate-700 px-2 py-0.5 text-xs text-slate-400">Revoked</span>}
        </p>
        <p className="mt-1 text-xs text-slate-400">
          Created <RelativeTime iso={token.created_at} /> ·{" "}
          {token.last_used_at ? (
            <>
              last used <RelativeTime iso={token.last_used_at} />
            </>
          ) : (
            "never used"
          )}
          {token.revoked_at && (
            <>
              {" "}
              · revoked <RelativeTime iso={token.revoked_at} />
            </>
          )}
        </p>
        {revoke.isError && (
          <p role="alert" className="mt-1 text-xs text-red-300">
            {errorMessage(revoke.error)}
          </p>
        )}
      </div>
      {!revoked && (
        <div className="flex shrink-0 gap-2">
          {confirming ? (
            <>
              <button type="button" className={buttonClass("danger", "sm")} disabled={revoke.isPending} onClick={() => revoke.mutate()}>
                {revoke.isPending && <Spinner />}
                Revoke “{token.name}”
              </button>
              <button type="button" className={buttonClass("ghost", "sm")} disabled={revoke.isPending} onClick={() => setConfirming(false)}>
                Keep
              </button>
            </>
          ) : (
            <button type="button" className={buttonClass("secondary", "sm")} onClick={() => setConfirming(true)} aria-label={`Revoke token ${token.name}`}>
              <Trash2 aria-hidden className="size-4" />
              Revoke
            </button>
          )}
        </div>
      )}
    </li>
  );
}

/** Settings → API tokens: create (shown once, with copy), list (prefix, name, created, last used), revoke. */
export function TokenManager() {
  const queryClient = useQueryClient();
  const nameId = useId();
  const [name, setName] = useState("");
  const [created, setCreated] = useState<{ token: string; name: string } | null>(null);
  const tokens = useQuery({
    queryKey: tokensQueryKey,
    queryFn: ({ signal }) => apiFetch<{ tokens: ApiTokenRecord[] }>("/api/tokens", { signal }).then((body) => body.tokens),
    retry: shouldRetryQuery,
  });
  const create = useMutation({
    mutationFn: (tokenName: string) => postJson<{ token: string; record: ApiTokenRecord }>("/api/tokens", { name: tokenName }),
    onSuccess: (body) => {
      setCreated({ token: body.token, name: body.record.name });
      setName("");
      void queryClient.invalidateQueries({ queryKey: tokensQueryKey });
    },
  });
  const onSubmit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate(name.trim());
  };

  return (
    <div className="space-y-6">
      {created && <NewToken token={created.token} name={created.name} onDone={() => setCreated(null)} />}

      <form onSubmit={onSubmit} className={`${cardClass} space-y-3 p-5`} aria-labelledby="create-token-title">
        <h2 id="create-token-title" className="text-sm font-semibold text-slate-100">
          Create a token
        </h2>
        <div className="flex flex-col gap-2 sm:flex-row sm:items-end">
          <div className="flex-1 space-y-1.5">
            <label htmlFor={nameId} className={labelClass}>
              Name
            </label>
            <input
              id={nameId}
              value={name}
              onChange={(event) => setName(event.currentTarget.value)}
              placeholder="e.g. Laptop script"
              maxLength={80}
              required
              className={inputClass}
            />
          </div>
          <button type="submit" className={buttonClass("primary")} disabled={!name.trim() || create.isPending}>
            {create.isPending ? <Spinner /> : <Plus aria-hidden className="size-4" />}
            Create token
          </button>
        </div>
        {create.isError && (
          <p role="alert" className="text-sm text-red-300">
            {errorMessage(create.error)}
          </p>
        )}
      </form>

      <section aria-labelledby="tokens-title" className="space-y-3">
        <h2 id="tokens-title" className="text-sm font-semibold text-slate-100">
          Your tokens
        </h2>
        {tokens.isPending ? (
          <div className="space-y-2" aria-busy="true" aria-label="Loading tokens">
            <Skeleton className="h-[74px] w-full rounded-2xl" />
            <Skeleton className="h-[74px] w-full rounded-2xl" />
          </div>
        ) : tokens.isError ? (
          <ErrorState title="Your tokens could not be loaded" message={errorMessage(tokens.error)} />
        ) : tokens.data.length === 0 ? (
          <EmptyState icon={<KeyRound className="size-6" />} title="No tokens yet">
            Create one to call the API from scripts: <code className="font-mono">curl -H &quot;Authorization: Bearer …&quot;</code>.
          </EmptyState>
        ) : (
          <ul className={`${cardClass} divide-y divide-slate-800`} aria-label="API tokens">
            {tokens.data.map((token) => (
              <TokenRow key={token.id} token={token} />
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
