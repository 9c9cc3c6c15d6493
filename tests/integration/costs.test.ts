/**
 * Costs end to end, on SQLite and PostgreSQL: the estimate in the workflow list, from
 * POST /workflows/estimate and in the execute answer; each step's actual cost recorded from what the
 * Replicate fake reports (`metrics.predict_time`, the outputs), a failed step at 0; the execution
 * details per step and in total. Real routes, real engine, the real `replicate` SDK against the fake.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { GET as executionDetails } from "@/app/workflows/execution/[jobId]/route";
import { POST as estimateRoute } from "@/app/workflows/estimate/route";
import { POST as execute } from "@/app/workflows/execute/route";
import { GET as listWorkflowsRoute } from "@/app/workflows/list/route";
import { runtime } from "@/lib/server/runtime";
import { buildRegistry } from "@/lib/workflows/registry";
import { discoveredWorkflows } from "@/lib/workflows/registry.generated";
import { authed, BASE, createUserWithToken, executeRequest, jobParams, jpegBlob } from "@/tests/helpers/api";
import { testWorkflow } from "@/tests/helpers/engine";
import { startProductionStack, waitForJob, type ProductionStack } from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

const WORKFLOW = "img-edit-to-video";
const COMPUTE_PRICED = "compute-priced";

/** The installed workflows plus one priced by compute seconds, whose one step runs a model. */
function registryWithComputePricedWorkflow() {
  const installed = buildRegistry(discoveredWorkflows);
  const computePriced = testWorkflow(
    COMPUTE_PRICED,
    {
      async upscale(ctx) {
        const output = await ctx.providers.models.run({ model: "owner/upscaler", input: {}, jobId: ctx.jobId, stepIndex: ctx.stepIndex, signal: ctx.signal, onProgress: () => Promise.resolve(), state: ctx.state });
        return { bytes: output.body.length };
      },
    },
    { steps: [{ name: "upscale", type: "generation", label: "Upscale", model: "owner/upscaler", pricing: { per: "second_of_compute", usd: 0.001525, estimate_seconds: 20 } }] },
  );
  return { workflows: new Map([...installed.workflows, [COMPUTE_PRICED, computePriced]]), problems: [] };
}

let stack: ProductionStack;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await closeTestEnvironment();
  await stack.stop();
});

async function details(token: string, jobId: string) {
  const response = await executionDetails(authed(token, `/workflows/execution/${jobId}`), jobParams(jobId));
  expect(response.status).toBe(200);
  return (await response.json()) as {
    job: { estimated_cost_usd: number; actual_cost_usd: number };
    steps: { name: string; estimated_usd: number | null; actual_usd: number | null; provider_seconds: number | null }[];
    cost: { currency: string; estimated_usd: number; actual_usd: number };
  };
}

function estimateRequest(token: string, body: BodyInit, contentType?: string): Request {
  return new Request(`${BASE}/workflows/estimate`, { method: "POST", body, headers: { authorization: `Bearer ${token}`, ...(contentType && { "content-type": contentType }) } });
}

describe.each<Provider>(["sqlite", "postgresql"])("costs on %s with Replicate", (provider) => {
  let database: TestDatabase;
  let token: string;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, stack.env({ CLOUDINARY_URL: "" }), { registry: registryWithComputePricedWorkflow() });
    ({ token } = await createUserWithToken(`costs-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  beforeEach(() => {
    stack.replicate.clearFailures();
    stack.replicate.completeAfter = { polls: 2 };
    stack.replicate.predictTimeSeconds = 2.5;
  });

  it("estimates before, records each step's actual cost after, and shows both per step and in total", async () => {
    const listed = (await (await listWorkflowsRoute(new Request(`${BASE}/workflows/list`))).json()) as { workflows: { id: string; estimate: { total_usd: number; note: string | null; steps: { basis: string }[] } }[] };
    const workflow = listed.workflows.find((candidate) => candidate.id === WORKFLOW)!;
    expect(workflow.estimate).toMatchObject({ total_usd: 0.539, complete: true, note: null });
    expect(workflow.estimate.steps.map((step) => step.basis)).toEqual(["no_model", "priced", "priced"]);

    const answer = await execute(executeRequest(token, { workflow_id: WORKFLOW, file: jpegBlob() }));
    expect(answer.status).toBe(202);
    const { job_id: jobId, estimated_cost_usd } = (await answer.json()) as { job_id: string; estimated_cost_usd: number };
    expect(estimated_cost_usd).toBe(0.539);
    await waitForJob(jobId, "completed");

    const shown = await details(token, jobId);
    expect(shown.steps.map((step) => [step.name, step.estimated_usd, step.actual_usd, step.provider_seconds])).toEqual([
      ["upload", 0, 0, null],
      ["image_edit", 0.039, 0.039, 2.5],
      ["video_generation", 0.5, 0.5, 2.5],
    ]);
    expect(shown.cost).toEqual({ currency: "USD", estimated_usd: 0.539, actual_usd: 0.539 });
    expect(shown.job).toMatchObject({ estimated_cost_usd: 0.539, actual_cost_usd: 0.539 });
  });

  it("records a step that failed on the provider's side at 0", async () => {
    // The image edit succeeds; the video's prediction is aborted by Replicate (never ran): retryable, parked.
    stack.replicate.script({ status: "succeeded" }, { status: "aborted" });
    const answer = await execute(executeRequest(token, { workflow_id: WORKFLOW, file: jpegBlob() }));
    const { job_id: jobId } = (await answer.json()) as { job_id: string };
    const parked = await waitForJob(jobId, "pending_retry");
    expect(parked.layout["2"]?.status).toBe("failed_retryable");
    const shown = await details(token, jobId);
    expect(shown.steps.map((step) => step.actual_usd)).toEqual([0, 0.039, 0]);
    expect(shown.cost).toMatchObject({ estimated_usd: 0.539, actual_usd: 0.039 });
  });

  it("charges compute-priced steps by the predict_time Replicate reports", async () => {
    stack.replicate.predictTimeSeconds = 12;
    const estimate = await estimateRoute(estimateRequest(token, JSON.stringify({ workflow_id: COMPUTE_PRICED }), "application/json"));
    expect(((await estimate.json()) as { estimate: { total_usd: number } }).estimate.total_usd).toBe(0.0305);
    const jobId = await runtime().store.insertJob({
      userId: (await runtime().prisma.user.findFirstOrThrow({ where: { email: `costs-${provider}@example.com` } })).id,
      workflow: { id: COMPUTE_PRICED, version: "test-1", config: runtime().findWorkflow(COMPUTE_PRICED)!.config },
      inputs: {},
      maxAttempts: 3,
      estimate: { micros: 30_500, steps: [30_500] },
      firstEvent: { type: "progress", data: { step: 0, step_name: "upscale", progress: 0, step_progress: 0, message: "Queued" } },
    });
    await runtime().driver.enqueue(jobId);
    await waitForJob(jobId, "completed");
    const shown = await details(token, jobId);
    expect(shown.steps[0]).toMatchObject({ estimated_usd: 0.0305, actual_usd: 0.0183, provider_seconds: 12 });
  });

  it("estimates for given inputs and candidates, and refuses bad input with the error shape", async () => {
    const form = new FormData();
    form.append("workflow_id", WORKFLOW);
    form.append("edit_prompt", "Make it snow");
    form.append("candidates", "3");
    const answer = await estimateRoute(estimateRequest(token, form));
    expect(answer.status).toBe(200);
    const body = (await answer.json()) as { workflow_id: string; estimate: { total_usd: number; candidates: number; steps: { estimated_usd: number }[] } };
    expect(body.workflow_id).toBe(WORKFLOW);
    expect(body.estimate.candidates).toBe(3);
    expect(body.estimate.steps.map((step) => step.estimated_usd)).toEqual([0, 0.117, 1.5]);
    expect(body.estimate.total_usd).toBe(1.617);

    const refusals: [Request, number, string][] = [
      [estimateRequest(token, JSON.stringify({}), "application/json"), 400, "invalid_form"],
      [estimateRequest(token, JSON.stringify({ workflow_id: "nope" }), "application/json"), 404, "not_found"],
      [estimateRequest(token, JSON.stringify({ workflow_id: WORKFLOW, candidates: 0 }), "application/json"), 400, "invalid_form"],
      [estimateRequest(token, JSON.stringify({ workflow_id: WORKFLOW, candidates: "9" }), "application/json"), 400, "invalid_form"],
      [estimateRequest(token, JSON.stringify({ workflow_id: WORKFLOW, colour: "red" }), "application/json"), 400, "invalid_form"],
      [estimateRequest(token, JSON.stringify({ workflow_id: WORKFLOW, edit_prompt: 7 }), "application/json"), 400, "invalid_json"],
      [estimateRequest(token, "{not json", "application/json"), 400, "invalid_json"],
      [estimateRequest(token, JSON.stringify(["a"]), "application/json"), 400, "invalid_json"],
      [estimateRequest(token, "workflow_id=x", "text/plain"), 415, "unsupported_media_type"],
      [new Request(`${BASE}/workflows/estimate`, { method: "POST", body: JSON.stringify({ workflow_id: WORKFLOW }), headers: { "content-type": "application/json" } }), 401, "unauthorized"],
    ];
    for (const [request, status, code] of refusals) {
      const response = await estimateRoute(request);
      expect([response.status, ((await response.json()) as { success: boolean; error: { code: string } }).error.code]).toEqual([status, code]);
    }
  });
});

describe("costs with local models", () => {
  let database: TestDatabase;

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  it("estimates and charges 0, and says the models run locally", async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    const { token } = await createUserWithToken("costs-local@example.com");
    const listed = (await (await listWorkflowsRoute(new Request(`${BASE}/workflows/list`))).json()) as { workflows: { id: string; estimate: { total_usd: number; note: string | null; steps: { basis: string }[] } }[] };
    const estimate = listed.workflows.find((candidate) => candidate.id === WORKFLOW)!.estimate;
    expect(estimate.total_usd).toBe(0);
    expect(estimate.note).toMatch(/locally/);
    expect(estimate.steps.map((step) => step.basis)).toEqual(["no_model", "local", "local"]);

    const answer = await execute(executeRequest(token, { workflow_id: WORKFLOW, file: jpegBlob() }));
    const { job_id: jobId, estimated_cost_usd } = (await answer.json()) as { job_id: string; estimated_cost_usd: number };
    expect(estimated_cost_usd).toBe(0);
    await waitForJob(jobId, "completed", 60_000);
    const shown = await details(token, jobId);
    expect(shown.steps.map((step) => step.actual_usd)).toEqual([0, 0, 0]);
    expect(shown.cost).toEqual({ currency: "USD", estimated_usd: 0, actual_usd: 0 });
  });
});
