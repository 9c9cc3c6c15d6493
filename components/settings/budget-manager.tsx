"use client";

import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { apiFetch, errorMessage, postJson, shouldRetryQuery } from "@/components/api/client";
import { formatUsd } from "@/components/ui/money";
import { ErrorState, Skeleton, Spinner } from "@/components/ui/states";
import { buttonClass, cardClass, inputClass, labelClass } from "@/components/ui/styles";

interface BudgetSettings {
  monthly_budget_usd: number | null;
  server_budget_usd: number | null;
  own_budget_usd: number | null;
  month_start: string;
  month_spent_usd: number;
  month_outstanding_usd: number;
}

const budgetQueryKey = ["budget"] as const;

/** The month's spend, the budget that applies, and a form to set a lower one of one's own. */
export function BudgetManager() {
  const queryClient = useQueryClient();
  const budget = useQuery({ queryKey: budgetQueryKey, queryFn: () => apiFetch<BudgetSettings>("/api/budget"), retry: shouldRetryQuery });
  const [value, setValue] = useState("");
  const save = useMutation({
    mutationFn: (usd: number | null) => postJson<BudgetSettings>("/api/budget", { monthly_budget_usd: usd }, "PUT"),
    onSuccess: (settings) => {
      queryClient.setQueryData(budgetQueryKey, settings);
      setValue("");
    },
  });

  if (budget.isPending) return <Skeleton className="h-48 w-full rounded-2xl" />;
  if (budget.isError) return <ErrorState title="The budget could not be loaded" message={errorMessage(budget.error)} />;
  const settings = budget.data;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const usd = Number(value);
    if (value.trim() === "" || !Number.isFinite(usd)) return;
    save.mutate(usd);
  };
  return (
    <section className={`${cardClass} space-y-5 p-5`} aria-labelledby="budget-title">
      <h2 id="budget-title" className="text-sm font-semibold text-slate-100">
        This month
      </h2>
      <dl className="grid gap-3 sm:grid-cols-3">
        <div>
          <dt className="text-xs font-medium text-slate-400">Spent</dt>
          <dd className="mt-0.5 text-lg text-slate-100" data-testid="month-spent">
            {formatUsd(settings.month_spent_usd)}
          </dd>
        </div>
        <div>
          <dt className="text-xs font-medium text-slate-400">Expected from runs in progress</dt>
          <dd className="mt-0.5 text-lg text-slate-100">{formatUsd(settings.month_outstanding_usd)}</dd>
        </div>
        <div>
          <dt className="text-xs font-medium text-slate-400">Monthly budget</dt>
          <dd className="mt-0.5 text-lg text-slate-100" data-testid="monthly-budget">
            {settings.monthly_budget_usd === null ? "No limit" : formatUsd(settings.monthly_budget_usd)}
          </dd>
        </div>
      </dl>
      <p className="text-xs text-slate-300">
        A run is refused when this month&apos;s spend, plus what your runs in progress are expected to spend, plus its estimate would pass the budget.
        {settings.server_budget_usd !== null && ` The server allows at most ${formatUsd(settings.server_budget_usd)} a month; you may set a lower budget.`}
      </p>
      <form onSubmit={submit} className="flex flex-col gap-2 sm:flex-row sm:items-end" noValidate>
        <div className="flex-1">
          <label htmlFor="own-budget" className={labelClass}>
            Your monthly budget (USD)
          </label>
          <input
            id="own-budget"
            type="number"
            min={0}
            step="0.01"
            inputMode="decimal"
            value={value}
            onChange={(event) => setValue(event.target.value)}
            placeholder={settings.own_budget_usd === null ? "e.g. 10" : String(settings.own_budget_usd)}
            className={`${inputClass} mt-1`}
          />
        </div>
        <button type="submit" className={buttonClass("primary")} disabled={save.isPending || value.trim() === ""}>
          {save.isPending && <Spinner className="size-4" />}
          Set budget
        </button>
        {settings.own_budget_usd !== null && (
          <button type="button" className={buttonClass("secondary")} disabled={save.isPending} onClick={() => save.mutate(null)}>
            Remove my budget
          </button>
        )}
      </form>
      <p role="status" className="min-h-5 text-sm text-slate-200">
        {save.isError ? errorMessage(save.error) : save.isSuccess ? "Saved." : ""}
      </p>
    </section>
  );
}
