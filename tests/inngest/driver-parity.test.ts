/**
 * The same scenarios under both drivers leave the same database rows and stream events: the
 * in-process runner, and workflow-execute under @inngest/test (with the retry sweep's claim and a
 * new run for the resume). Volatile values (ids, times, per-frame progress) are normalised away.
 */
import { InngestTestEngine } from "@inngest/test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessRunner } from "@/lib/engine/in-process-runner";
import { sweepDueJobs } from "@/lib/engine/sweep";
import { createWorkflowExecute } from "@/lib/inngest/workflow-execute";
import { silentLogger } from "@/lib/log";
import type { Providers } from "@/lib/providers/types";
import { eventsOf, readJob } from "@/tests/helpers/api";
import { capturingClient, createTestEnv, insertJob, localProviders, queuedEventOf, testDeps, type TestEnv } from "./support";

let env: TestEnv;

beforeAll(async () => {
  env = await createTestEnv();
});

afterAll(async () => {
  await env.cleanup();
});

interface Driver {
  /** Runs the job's current attempt to its end. */
  run(jobId: string): Promise<void>;
  /** What the retry sweep does once the job is due: claim it and start its next attempt. */
  resume(jobId: string): Promise<void>;
  /** What DELETE-style cancel does after the database says canceled (in-process: abort the step). */
  interrupt(jobId: string): void;
}

function inProcess(providers: Providers): Driver & { runner: InProcessRunner } {
  const runner = new InProcessRunner({
    engine: { ...env.rt.engine, providers },
    checkHealth: async () => ({ healthy: true }),
    concurrency: 1,
    leaseMs: 30_000,
    sweepIntervalMs: 3600_000,
    sweepBatch: 10,
    recheckSeconds: 60,
  });
  return {
    runner,
    async run(jobId) {
      runner.enqueue(jobId);
      await runner.idle();
    },
    async resume() {
      await runner.tick();
      await runner.idle();
    },
    interrupt: (jobId) => runner.cancel(jobId),
  };
}

function onInngest(providers: Providers): Driver {
  const { client } = capturingClient(env);
  const fn = createWorkflowExecute(client, testDeps(env, providers));
  const run = async (jobId: string) => {
    await new InngestTestEngine({ function: fn, events: [await queuedEventOf(env, jobId)] }).execute();
  };
  return {
    run,
    async resume(jobId) {
      const { resumed } = await sweepDueJobs({
        store: env.rt.store,
        batchSize: 10,
        checkHealth: async () => ({ healthy: true }),
        recheckSeconds: 60,
        logger: silentLogger,
      });
      expect(resumed.map((job) => job.id)).toEqual([jobId]);
      await run(jobId);
    },
    interrupt: () => undefined, // cancelOn stops the run; the running step sees the database
  };
}

function normalise(value: unknown, jobId: string): unknown {
  return JSON.parse(
    JSON.stringify(value)
      .replaceAll(jobId, "<job>")
      .replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g, "<time>"),
  );
}

/** What the API and the stream show: the job row, its checkpoints, and its events (per-frame progress left out), and who holds its lease. */
async function snapshot(jobId: string) {
  const job = await readJob(jobId);
  const { execution } = job;
  // The lease is not part of the store's job record: read it as a fixture, with Prisma.
  const lease = await env.rt.prisma.workflowExecution.findUniqueOrThrow({ where: { jobId }, select: { leaseOwner: true, leaseExpiresAt: true } });
  const events = (await eventsOf(jobId)).filter((e) => e.type !== "progress" || e.data.step_progress === 0 || e.data.step_progress === 100);
  return normalise(
    {
      job: { status: job.status, progress: job.progress, result: job.result, error: job.error, errorCode: job.errorCode, attempts: job.attempts, completed: job.completedAt !== null, parked: job.nextRetryAt !== null },
      execution: {
        currentStep: execution.currentStep,
        retryCount: execution.retryCount,
        lastError: execution.lastError,
        lastErrorClass: execution.lastErrorClass,
        lastErrorReason: execution.lastErrorReason,
        lastErrorProvider: execution.lastErrorProvider,
        lease: lease.leaseOwner,
        leaseExpires: lease.leaseExpiresAt !== null,
      },
      checkpoints: Object.fromEntries(Object.entries(job.layout).map(([key, { started_at: _s, completed_at: _c, ...rest }]) => [key, rest])),
      // Which step-level progress lines appear depends on timing (they are throttled); their order and kinds do not.
      events: events.filter((e) => e.type !== "progress" || e.data.step_progress === 0).map((e) => ({ type: e.type, data: e.type === "progress" ? { step: e.data.step, message: e.data.message } : e.data })),
    },
    jobId,
  );
}

/** What the cancel route does once step 2 runs: the database says canceled (one commit with its event), then the driver is told. */
async function cancelLikeTheApi(jobId: string, driver: Driver): Promise<void> {
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    if ((await readJob(jobId)).layout["2"]?.status === "running") break;
  }
  const canceled = await env.rt.store.cancelJob(jobId, {
    from: "running",
    message: "Canceled by user",
    event: { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } },
  });
  expect(canceled).toBe(true);
  driver.interrupt(jobId);
}

type Scenario = (driver: Driver, jobId: string) => Promise<void>;

const scenarios: Array<[string, string, Scenario]> = [
  ["happy path", "", (driver, jobId) => driver.run(jobId)],
  ["hard failure", "image_edit:hard:1", (driver, jobId) => driver.run(jobId)],
  [
    "retryable park and resume",
    "video:quota:1",
    async (driver, jobId) => {
      await driver.run(jobId);
      // A fixture write: the parked job is due now, so the sweep (which reads the clock) claims it.
      await env.rt.prisma.job.update({ where: { id: jobId }, data: { nextRetryAt: new Date(Date.now() - 1000) } });
      await driver.resume(jobId);
    },
  ],
  // The video step waits at a gate nobody opens: only the cancel can end it.
  ["cancel during a step", "video:gate", (driver, jobId) => Promise.all([driver.run(jobId), cancelLikeTheApi(jobId, driver)]).then(() => undefined)],
];

describe("both drivers leave the same rows and events", () => {
  it.each(scenarios)("%s", async (_name, faults, scenario) => {
    const local = inProcess(localProviders(env, faults));
    const inProcessJob = await insertJob(env);
    await scenario(local, inProcessJob);
    await local.runner.stop();

    const inngestJob = await insertJob(env);
    await scenario(onInngest(localProviders(env, faults)), inngestJob);

    expect(await snapshot(inngestJob)).toEqual(await snapshot(inProcessJob));
  });
});
