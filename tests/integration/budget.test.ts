/**
 * The ledger and the monthly budget, on SQLite and PostgreSQL, with the Replicate fake: GET /usage
 * per workflow and per day; execute and retry refused with 402 budget_exceeded when the month's
 * spend plus what active jobs expect plus the new estimate would pass the budget, nothing stored;
 * concurrent executes racing the budget never pass it together; a user may only lower the budget.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

import { GET as readBudget, PUT as writeBudget } from "@/app/api/budget/route";
import { GET as usage } from "@/app/usage/route";
import { POST as cancel } from "@/app/workflows/cancel/[jobId]/route";
import { POST as execute } from "@/app/workflows/execute/route";
import { POST as retry } from "@/app/workflows/retry/[jobId]/route";
import { runtime } from "@/lib/server/runtime";
import { authed, createUserWithToken, executeRequest, jobParams, jpegBlob } from "@/tests/helpers/api";
import { startProductionStack, waitForJob, type ProductionStack } from "@/tests/fakes/production-stack";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

const WORKFLOW = "img-edit-to-video";
let stack: ProductionStack;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await closeTestEnvironment();
  await stack.stop();
});

type ErrorBody = { success: false; error: { code: string; message: string } };

async function start(token: string) {
  const response = await execute(executeRequest(token, { workflow_id: WORKFLOW, file: jpegBlob() }));
  return { status: response.status, body: (await response.json()) as { job_id: string } & Partial<ErrorBody> };
}

const budgetRequest = (token: string, body: unknown) => authed(token, "/api/budget", { method: "PUT", body: JSON.stringify(body), headers: { "content-type": "application/json" } });

describe.each<Provider>(["sqlite", "postgresql"])("ledger and budget on %s", (provider) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // A server budget of $2 a month: three runs' estimates ($0.539 each) fit, a fourth does not.
    // Eight executes race on purpose below: the uploads-in-flight limit (3 by default) is raised to let them.
    await useTestEnvironment(database, stack.env({ CLOUDINARY_URL: "", USER_MONTHLY_BUDGET_USD: "2", RATE_LIMIT_CONCURRENT_UPLOADS: "8" }));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  beforeEach(() => {
    stack.replicate.clearFailures();
    stack.replicate.completeAfter = { polls: 2 };
  });

  it("answers the ledger: the spend in total, per workflow, per day, and the charged steps", async () => {
    const { token } = await createUserWithToken(`ledger-${provider}@example.com`);
    const { body } = await start(token);
    await waitForJob(body.job_id, "completed");
    const response = await usage(authed(token, "/usage"));
    expect(response.status).toBe(200);
    const ledger = (await response.json()) as Record<string, unknown>;
    const today = new Date().toISOString().slice(0, 10);
    expect(ledger).toMatchObject({
      success: true,
      total_usd: 0.539,
      by_workflow: [{ workflow_id: WORKFLOW, workflow_name: "Image Edit to Video", total_usd: 0.539, charged_steps: 2 }],
      by_day: [{ day: today, total_usd: 0.539 }],
      items: [
        { job_id: body.job_id, workflow_id: WORKFLOW, step: 1, step_name: "image_edit", cost_usd: 0.039 },
        { job_id: body.job_id, workflow_id: WORKFLOW, step: 2, step_name: "video_generation", cost_usd: 0.5 },
      ],
    });
    // A range without charges, and bad ranges refused with the error shape.
    const empty = (await (await usage(authed(token, "/usage?from=2020-01-01&to=2020-01-31"))).json()) as { total_usd: number; items: unknown[] };
    expect([empty.total_usd, empty.items]).toEqual([0, []]);
    for (const query of ["from=yesterday", "from=2026-12-10&to=2026-12-01", "from=2020-01-01&to=2026-01-01", "to=2026-13-45"]) {
      const refused = await usage(authed(token, `/usage?${query}`));
      expect([refused.status, ((await refused.json()) as ErrorBody).error.code]).toEqual([400, "invalid_request"]);
    }
  });

  it("refuses an execute that would pass the budget with 402, storing nothing", async () => {
    const { token, userId } = await createUserWithToken(`budget-${provider}@example.com`);
    const started = [await start(token), await start(token), await start(token)];
    expect(started.map((answer) => answer.status)).toEqual([202, 202, 202]);
    const jobsBefore = await runtime().prisma.job.count({ where: { userId } });
    const uploadsBefore = await runtime().prisma.upload.count({ where: { userId } });
    const refused = await start(token);
    expect(refused.status).toBe(402);
    expect(refused.body.error?.code).toBe("budget_exceeded");
    expect(refused.body.error?.message).toMatch(/monthly budget of \$2\.00/);
    expect(await runtime().prisma.job.count({ where: { userId } })).toBe(jobsBefore);
    expect(await runtime().prisma.upload.count({ where: { userId } })).toBe(uploadsBefore);
    // Done before the next test scripts the fake's outcomes.
    for (const answer of started) await waitForJob(answer.body.job_id, "completed");
  });

  it("never lets racing executes pass the budget together", async () => {
    const { token, userId } = await createUserWithToken(`race-${provider}@example.com`);
    const answers = await Promise.all(Array.from({ length: 8 }, () => start(token)));
    const accepted = answers.filter((answer) => answer.status === 202);
    expect(accepted).toHaveLength(3);
    expect(answers.filter((answer) => answer.status === 402)).toHaveLength(5);
    expect(await runtime().prisma.job.count({ where: { userId } })).toBe(3);
    const settings = (await (await readBudget(authed(token, "/api/budget"))).json()) as { month_spent_usd: number; month_outstanding_usd: number };
    expect(settings.month_spent_usd + settings.month_outstanding_usd).toBeLessThanOrEqual(2);
    for (const answer of accepted) await waitForJob(answer.body.job_id, "completed");
  });

  it("lets a user lower the budget, never raise it, and refuses a retry that would pass it", async () => {
    const { token } = await createUserWithToken(`lower-${provider}@example.com`);
    const tooHigh = await writeBudget(budgetRequest(token, { monthly_budget_usd: 3 }));
    expect([tooHigh.status, ((await tooHigh.json()) as ErrorBody).error.code]).toEqual([400, "invalid_request"]);
    for (const bad of [{ monthly_budget_usd: -1 }, { monthly_budget_usd: "1" }, { budget: 1 }, []]) {
      const refused = await writeBudget(budgetRequest(token, bad));
      expect(refused.status).toBe(400);
    }

    // A run whose video Replicate aborts: parked with the image edit paid ($0.039), then canceled.
    stack.replicate.script({ status: "succeeded" }, { status: "aborted" });
    const { body } = await start(token);
    await waitForJob(body.job_id, "pending_retry");
    expect((await cancel(authed(token, `/workflows/cancel/${body.job_id}`, { method: "POST" }), jobParams(body.job_id))).status).toBe(200);

    const lowered = await writeBudget(budgetRequest(token, { monthly_budget_usd: 0.5 }));
    expect(lowered.status).toBe(200);
    expect(await lowered.json()).toMatchObject({ monthly_budget_usd: 0.5, server_budget_usd: 2, own_budget_usd: 0.5, month_spent_usd: 0.039, month_outstanding_usd: 0 });

    // The retry would spend the video's $0.5 on top of the $0.039 spent: past $0.5.
    const refused = await retry(authed(token, `/workflows/retry/${body.job_id}`, { method: "POST" }), jobParams(body.job_id));
    expect([refused.status, ((await refused.json()) as ErrorBody).error.code]).toEqual([402, "budget_exceeded"]);
    expect((await runtime().store.getJob(body.job_id))!.status).toBe("canceled");

    // Back to the server's budget: the retry goes ahead and the run completes.
    expect((await writeBudget(budgetRequest(token, { monthly_budget_usd: null }))).status).toBe(200);
    expect((await retry(authed(token, `/workflows/retry/${body.job_id}`, { method: "POST" }), jobParams(body.job_id))).status).toBe(200);
    await waitForJob(body.job_id, "completed");
  });
});
