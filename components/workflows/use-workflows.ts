"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch, shouldRetryQuery } from "@/components/api/client";
import type { ListWorkflowsResponse, Workflow } from "@/components/api/types";

export const workflowsQueryKey = ["workflows"] as const;

/** The installed workflows (GET /workflows/list); they change only with a deploy. */
export function useWorkflows() {
  return useQuery({
    queryKey: workflowsQueryKey,
    queryFn: ({ signal }) => apiFetch<ListWorkflowsResponse>("/workflows/list", { signal }).then((body) => body.workflows),
    staleTime: 5 * 60_000,
    retry: shouldRetryQuery,
  });
}

export function workflowById(workflows: Workflow[] | undefined, id: string): Workflow | undefined {
  return workflows?.find((workflow) => workflow.id === id);
}
