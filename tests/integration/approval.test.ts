/**
 * Approval before a step through the real route handlers, on real SQLite and PostgreSQL, with the
 * in-process runner and the local providers: the job waits as awaiting_approval (durable across a
 * restart, ignored by the sweep), approve resumes it without spending an attempt, reject cancels it
 * with the comment, the timeout fails it, and of concurrent decisions and cancels exactly one wins.
 */
import { describe, expect, it } from "vitest";
import { expireApprovals } from "@/lib/engine/approval-timeouts";
import { approvalStepsOf } from "@/lib/jobs/execute";
import { runtime } from "@/lib/server/runtime";
import { workflowConfigSchema } from "@/lib/workflows/definition";
import { authed, eventsOf, jobParams, jpegBlob, waitForJobStatus } from "../helpers/api";
import { inProcessRunner, useTestEnvironment, type Provider } from "../helpers/db";
import { useRouteSuite } from "../helpers/suites";

describe.each<Provider>(["sqlite", "postgresql"])("approval before a step on %s", (provider) => {
  const env = { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" };
  const suite = useRouteSuite(provider, {
    users: "approve",
    env,
    loadRoutes: async () => ({
      execute: await import("@/app/workflows/execute/route"),
      approve: await import("@/app/workflows/approve/[jobId]/route"),
      cancel: await import("@/app/workflows/cancel/[jobId]/route"),
      execution: await import("@/app/workflows/execution/[jobId]/route"),
    }),
  });

  async function executeWaiting(fields: Record<string, string> = {}): Promise<string> {
    const form = new FormData();
    for (const [name, value] of Object.entries({ workflow_id: "img-edit-to-video", ...fields })) form.append(name, value);
    form.append("approve_before", "video_generation");
    form.append("file", jpegBlob(), "photo.jpg");
    const response = await suite.routes.execute.POST(authed(suite.alice.token, "/workflows/execute", { method: "POST", body: form }));
    expect(response.status, await response.clone().text()).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    await waitForJobStatus(jobId, ["awaiting_approval"]);
    return jobId;
  }

  function decide(token: string, jobId: string, body: unknown, contentType = "application/json") {
    return suite.routes.approve.POST(
      authed(token, `/workflows/approve/${jobId}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": contentType } }),
      jobParams(jobId),
    );
  }

  const cancel = (jobId: string) => suite.routes.cancel.POST(authed(suite.alice.token, `/workflows/cancel/${jobId}`, { method: "POST" }), jobParams(jobId));

  async function counts() {
    const { prisma } = runtime();
    return { jobs: await prisma.job.count(), events: await prisma.jobEvent.count(), checkpoints: await prisma.checkpoint.count(), statuses: (await prisma.job.findMany({ select: { status: true } })).map((job) => job.status).sort() };
  }

  it("stops before the step with the edited image to approve, survives a restart untouched by the sweep, and runs on approval without spending an attempt", async () => {
    const jobId = await executeWaiting();
    const details = (await (await suite.routes.execution.GET(authed(suite.alice.token, `/workflows/execution/${jobId}`), jobParams(jobId))).json()) as {
      job: { status: string; approval_steps: number[]; awaiting: { kind: string; since: string; until: string } | null; attempts: number };
      execution: { current_step: number; retry_count: number };
      checkpoints: Record<string, { status: string; output?: Record<string, string> }>;
    };
    expect(details.job).toMatchObject({ status: "awaiting_approval", approval_steps: [2], awaiting: { kind: "approval", since: expect.any(String), until: expect.any(String) } });
    expect(new Date(details.job.awaiting!.until).getTime() - new Date(details.job.awaiting!.since).getTime()).toBe(24 * 3600_000);
    expect(details.execution).toMatchObject({ current_step: 2, retry_count: 0 });
    expect(Object.keys(details.checkpoints)).toEqual(["0", "1"]);
    const [waiting] = await eventsOf(jobId, "awaiting");
    expect(waiting!.data).toMatchObject({ status: "awaiting_approval", awaiting: "approval", step: 2, step_name: "video_generation", output: details.checkpoints["1"]!.output });

    // A new process on the same database: the wait is durable, and neither recovery nor the sweep touches it.
    const rt = await useTestEnvironment(suite.database, env);
    await inProcessRunner(rt).tick();
    await inProcessRunner(rt).idle();
    expect((await waitForJobStatus(jobId, ["awaiting_approval"])).checkpoints.length).toBe(2);

    const response = await decide(suite.alice.token, jobId, { approve: true, comment: "The light is right" });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { job: { status: string } }).job.status).toBe("running");
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done).toMatchObject({ retryCount: 0, awaitingSince: null });
    expect(done.layout["2"]?.status).toBe("completed");
    expect((await eventsOf(jobId, "progress")).some((event) => event.data.message === "Approved: The light is right")).toBe(true);
    // Decided once: a second decision is refused.
    expect((await decide(suite.alice.token, jobId, { approve: true })).status).toBe(409);
  });

  it("cancels the job on rejection, with the comment as its reason", async () => {
    const jobId = await executeWaiting();
    const response = await decide(suite.alice.token, jobId, { approve: false, comment: "Too dark, start over" });
    expect(response.status).toBe(200);
    const job = await waitForJobStatus(jobId, ["canceled"]);
    expect(job).toMatchObject({ error: "Too dark, start over", errorCode: "approval_rejected" });
    expect(job.layout["2"]).toBeUndefined();
    expect((await eventsOf(jobId)).at(-1)).toMatchObject({ type: "error", data: { status: "canceled", code: "approval_rejected", error: "Too dark, start over" } });
  });

  it("fails the job with approval_timeout once its wait has passed", async () => {
    const jobId = await executeWaiting();
    const rt = runtime();
    const early = await expireApprovals({ store: rt.store, notifier: rt.notifier, logger: rt.logger, batchSize: 50, now: new Date(Date.now() + 3600_000) });
    expect(early).not.toContain(jobId);
    const late = await expireApprovals({ store: rt.store, notifier: rt.notifier, logger: rt.logger, batchSize: 50, now: new Date(Date.now() + 25 * 3600_000) });
    expect(late).toContain(jobId);
    expect(await waitForJobStatus(jobId, ["failed"])).toMatchObject({ errorCode: "approval_timeout", retryCount: 0 });
    expect((await decide(suite.alice.token, jobId, { approve: true })).status).toBe(409);
  });

  it("an approval racing a cancel: the cancel always holds (before the approval, the approval is refused; after it, the resumed run is canceled); of two decisions exactly one wins", async () => {
    for (let round = 0; round < 3; round++) {
      const jobId = await executeWaiting();
      const [approved, canceled] = await Promise.all([decide(suite.alice.token, jobId, { approve: true }), cancel(jobId)]);
      expect(canceled.status).toBe(200);
      expect([200, 409]).toContain(approved.status);
      const job = await waitForJobStatus(jobId, ["canceled"]);
      expect(job.status).toBe("canceled");
      // An applied approval is in the job's history, before the cancel; a refused one is not.
      const messages = (await eventsOf(jobId, "progress")).map((event) => (event.data as { message?: string }).message);
      expect(messages.includes("Approved")).toBe(approved.status === 200);
    }
    const jobId = await executeWaiting();
    const [yes, no] = await Promise.all([decide(suite.alice.token, jobId, { approve: true }), decide(suite.alice.token, jobId, { approve: false, comment: "no" })]);
    expect([yes.status, no.status].sort()).toEqual([200, 409]);
    await waitForJobStatus(jobId, [yes.status === 200 ? "completed" : "canceled"]);
  });

  it("refuses bad bodies, other users and jobs not waiting, changing nothing; cancel works on a waiting job", async () => {
    const jobId = await executeWaiting();
    const before = await counts();
    const refusals: [unknown, string, number, string][] = [
      ["{nope", "application/json", 400, "invalid_json"],
      [{}, "application/json", 400, "invalid_request"],
      [{ approve: "yes" }, "application/json", 400, "invalid_request"],
      [{ approve: true, comment: "x".repeat(1001) }, "application/json", 400, "invalid_request"],
      [{ approve: true, extra: 1 }, "application/json", 400, "invalid_request"],
      ["approve=true", "application/x-www-form-urlencoded", 415, "unsupported_media_type"],
    ];
    for (const [body, contentType, status, code] of refusals) {
      const response = await decide(suite.alice.token, jobId, body, contentType);
      expect({ body, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ body, status, code });
    }
    for (const id of [jobId, "00000000-0000-4000-8000-000000000000"]) {
      const response = await decide(suite.bob.token, id, { approve: true });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ success: false, error: { code: "not_found", message: "No such job." } });
    }
    expect(await counts()).toEqual(before);

    // approve_before must name a later step of the workflow.
    for (const name of ["nope", "upload"]) {
      const form = new FormData();
      form.append("workflow_id", "img-edit-to-video");
      form.append("approve_before", name);
      form.append("file", jpegBlob(), "photo.jpg");
      const response = await suite.routes.execute.POST(authed(suite.alice.token, "/workflows/execute", { method: "POST", body: form }));
      expect(response.status).toBe(400);
    }
    expect(await counts()).toEqual(before);

    const canceled = await cancel(jobId);
    expect(canceled.status).toBe(200);
    expect(await waitForJobStatus(jobId, ["canceled"])).toMatchObject({ errorCode: "canceled", awaitingUntil: null });
  });
});

describe("which steps wait for approval", () => {
  const workflow = {
    config: workflowConfigSchema.parse({
      id: "approve-me",
      name: "Approve me",
      steps: [
        { name: "a", type: "input", label: "A" },
        { name: "b", type: "generation", label: "B", approval: true },
        { name: "c", type: "generation", label: "C" },
      ],
    }),
    handlers: {},
    version: "v",
  };

  it("takes config.json's approval steps and the caller's approve_before, never the first step", () => {
    expect(approvalStepsOf(workflow, [])).toEqual([1]);
    expect(approvalStepsOf(workflow, ["c", "b", "c"])).toEqual([1, 2]);
    expect(() => approvalStepsOf(workflow, ["a"])).toThrow(/cannot name the first step/);
    expect(() => approvalStepsOf(workflow, ["z"])).toThrow(/names no step/);
  });
});
