import type { z } from "zod";
import type {
  executeResponseSchema,
  executionDetailsResponseSchema,
  jobActionResponseSchema,
  jobSchema,
  listJobsResponseSchema,
  listWorkflowsResponseSchema,
  rerunResponseSchema,
  workflowSchema,
} from "@/lib/api/schemas";

// Type-only imports: the API's zod schemas give the client its types without shipping zod or server code.
export type Workflow = z.infer<typeof workflowSchema>;
export type WorkflowInput = Workflow["inputs"][number];
export type Job = z.infer<typeof jobSchema>;
export type ExecutionDetails = z.infer<typeof executionDetailsResponseSchema>;
export type ListWorkflowsResponse = z.infer<typeof listWorkflowsResponseSchema>;
export type ListJobsResponse = z.infer<typeof listJobsResponseSchema>;
export type ExecuteResponse = z.infer<typeof executeResponseSchema>;
export type JobActionResponse = z.infer<typeof jobActionResponseSchema>;
export type RerunResponse = z.infer<typeof rerunResponseSchema>;

export interface ApiTokenRecord {
  id: string;
  name: string;
  prefix: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}
