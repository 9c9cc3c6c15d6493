/**
 * workflow-retry-sweep under @inngest/test: due parked jobs are claimed and their resume events
 * sent in bounded batches (one step.sendEvent per batch), unhealthy providers' jobs wait, and
 * queued jobs whose event never reached Inngest get it re-sent with the same id.
 */
import { randomUUID } from "node:crypto";
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createWorkflowRetrySweep, MAX_SWEEP_BATCHES, UNSENT_QUEUED_AFTER_MS, UNSENT_QUEUED_BEFORE_MS } from "@/lib/inngest/workflow-retry-sweep";
import type { HealthStatus } from "@/lib/providers/types";
import { WebhookDispatcher } from "@/lib/webhooks/dispatcher";
import { WebhookReceiver } from "../helpers/webhook-receiver";
import { capturingClient, createTestEnv, insertJob, localProviders, TEST_SETTINGS, testDeps, type TestEnv } from "./support";

const CRON_EVENT = { name: "inngest/scheduled.timer", data: { cron: TEST_SETTINGS.retryCron } };

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

beforeEach(async () => {
  await env.rt.prisma.job.deleteMany();
});

/**
 * Parked (or other) jobs straight into the tables, as fixtures written with Prisma: the sweep only
 * reads jobs and executions, and hundreds of them are made at once.
 */
async function insertJobs(count: number, fields: { status: string; nextRetryAt?: Date; updatedAt?: Date; provider?: string; attempts?: number }) {
  const ids = Array.from({ length: count }, () => randomUUID());
  await env.rt.prisma.job.createMany({
    data: ids.map((id, i) => ({
      id,
      userId: env.userId,
      workflowId: "img-edit-to-video",
      status: fields.status,
      inputs: {},
      attempts: fields.attempts ?? 1,
      ...(fields.nextRetryAt && { nextRetryAt: new Date(fields.nextRetryAt.getTime() + i) }),
      // An explicit value wins over @updatedAt's automatic one.
      ...(fields.updatedAt && { updatedAt: fields.updatedAt }),
    })),
  });
  await env.rt.prisma.workflowExecution.createMany({
    data: ids.map((jobId) => ({ jobId, workflowId: "img-edit-to-video", lastErrorProvider: fields.provider ?? "local-models" })),
  });
  return ids;
}

function sweepEngine(checkHealth: (provider: string) => Promise<HealthStatus> = async () => ({ healthy: true })) {
  const { client, sent } = capturingClient(env);
  const fn = createWorkflowRetrySweep(client, testDeps(env, localProviders(env), { checkHealth }));
  return { engine: new InngestTestEngine({ function: fn, events: [CRON_EVENT] }), sent };
}

describe("workflow-retry-sweep", () => {
  it("claims 120 due jobs in batches of 50 and sends their resume events one bounded batch at a time", async () => {
    const ids = await insertJobs(120, { status: "pending_retry", nextRetryAt: new Date(Date.now() - 60_000), attempts: 3 });
    const { engine, sent } = sweepEngine();

    const { result, error, ctx } = await engine.execute();

    expect(error).toBeUndefined();
    expect(result).toEqual({ resumed: 120, deferred: 0, resent: 0 });
    expect(sent.map((batch) => batch.length)).toEqual([50, 50, 20]);
    const events = sent.flat();
    expect(new Set(events.map((e) => e.data.job_id))).toEqual(new Set(ids));
    expect(events[0]).toMatchObject({
      id: `job-${String(events[0]!.data.job_id)}-3`,
      name: "montage/job.queued",
      data: { job_id: events[0]!.data.job_id, user_id: env.userId, attempt: 3 },
    });
    expect(ctx.step.sendEvent).toHaveBeenCalledWith("resume-jobs-2", expect.any(Array));
    expect(await env.rt.prisma.job.count({ where: { status: "queued" } })).toBe(120);
  });

  it("stops after MAX_SWEEP_BATCHES batches; the next tick takes the rest", async () => {
    const total = TEST_SETTINGS.sweepBatch * MAX_SWEEP_BATCHES + 7;
    await insertJobs(total, { status: "pending_retry", nextRetryAt: new Date(Date.now() - 60_000) });

    const first = sweepEngine();
    const { result } = await first.engine.execute();
    expect(result).toMatchObject({ resumed: TEST_SETTINGS.sweepBatch * MAX_SWEEP_BATCHES });
    expect(first.sent).toHaveLength(MAX_SWEEP_BATCHES);
    expect(Math.max(...first.sent.map((batch) => batch.length))).toBe(TEST_SETTINGS.sweepBatch);

    const next = sweepEngine();
    const { result: nextResult } = await next.engine.execute();
    expect(nextResult).toMatchObject({ resumed: 7 });
  }, 30_000);

  it("leaves jobs of an unhealthy provider parked and sends nothing for them", async () => {
    await insertJobs(3, { status: "pending_retry", nextRetryAt: new Date(Date.now() - 60_000), provider: "replicate" });
    await insertJobs(2, { status: "pending_retry", nextRetryAt: new Date(Date.now() - 60_000), provider: "local-models" });
    const checked: string[] = [];
    const { engine, sent } = sweepEngine(async (provider) => {
      checked.push(provider);
      return provider === "replicate" ? { healthy: false, detail: "quota: insufficient credit" } : { healthy: true };
    });

    const { result } = await engine.execute();

    expect(result).toEqual({ resumed: 2, deferred: 3, resent: 0 });
    expect(sent.flat()).toHaveLength(2);
    expect(checked.sort()).toEqual(["local-models", "replicate"]);
    expect(await env.rt.prisma.job.count({ where: { status: "pending_retry", nextRetryAt: { gt: new Date() } } })).toBe(3);
  });

  it("re-sends, with their original event ids, queued jobs that never started (within Inngest's 24 h of deduplication)", async () => {
    const tooOld = await insertJobs(1, { status: "queued", updatedAt: new Date(Date.now() - UNSENT_QUEUED_BEFORE_MS - 60_000), attempts: 0 });
    const stale = await insertJobs(2, { status: "queued", updatedAt: new Date(Date.now() - UNSENT_QUEUED_AFTER_MS - 60_000), attempts: 0 });
    const fresh = await insertJob(env);
    const { engine, sent } = sweepEngine();

    const { result } = await engine.execute();

    expect(result).toEqual({ resumed: 0, deferred: 0, resent: 2 });
    expect(sent).toHaveLength(1);
    expect(sent[0]!.map((e) => e.id).sort()).toEqual(stale.map((id) => `job-${id}-0`).sort());
    expect(sent[0]!.map((e) => e.data.job_id)).not.toContain(fresh);
    expect(sent[0]!.map((e) => e.data.job_id)).not.toContain(tooOld[0]);
  });

  it("sends due webhook messages on every tick, so deliveries go on where no server process stays up", async () => {
    const receiver = new WebhookReceiver();
    await receiver.start();
    try {
      const store = env.rt.store;
      receiver.secret = await store.webhookSecret(env.userId, () => "whsec_c3dlZXAtdGljay10ZXN0LXNlY3JldC0xMjM0");
      const jobId = await store.insertJob({
        userId: env.userId,
        workflow: { id: "img-edit-to-video", version: "v-hook", config: {} },
        inputs: {},
        maxAttempts: 3,
        firstEvent: { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } },
        webhook: { url: receiver.url(), events: ["progress"] },
      });
      const dispatcher = new WebhookDispatcher({
        store,
        logger: env.rt.logger,
        retryBaseSeconds: 1,
        retryMaxSeconds: 1,
        retryWindowSeconds: 60,
        timeoutMs: 5000,
        allowInsecure: true,
        pollIntervalMs: 60_000,
      });
      const { client } = capturingClient(env);
      const fn = createWorkflowRetrySweep(client, { ...testDeps(env, localProviders(env)), dispatchWebhooks: () => dispatcher.pass() });
      const { error, ctx } = await new InngestTestEngine({ function: fn, events: [CRON_EVENT] }).execute();
      expect(error).toBeUndefined();
      expect(ctx.step.run).toHaveBeenCalledWith("dispatch-webhooks", expect.any(Function));
      expect(receiver.received.map((delivery) => [delivery.verified, delivery.body.type, delivery.body.data.job_id])).toEqual([[true, "progress", jobId]]);
      expect((await store.readJobWebhooks(jobId))!.messages.map((message) => message.status)).toEqual(["delivered"]);
    } finally {
      await receiver.stop();
    }
  });
});
