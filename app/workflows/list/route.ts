import { handleErrors } from "@/lib/api/errors";
import { listWorkflows } from "@/lib/workflows/public";

export const dynamic = "force-dynamic";

export const GET = handleErrors(async () => Response.json({ success: true, workflows: listWorkflows() }));
