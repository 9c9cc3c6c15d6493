import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InProcessRunner } from "@/lib/engine/in-process-runner";
import type { Runtime } from "@/lib/server/runtime";
import type { Workflow } from "@/lib/workflows/definition";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { createUserWithToken, waitForJobStatus } from "../helpers/api";
import { insertTestJob, testWorkflow } from "../helpers/engine";

/**
 * Fair turns in the in-process runner on real databases: one user's long line does not hold up
 * another user's job, and a per-user limit keeps a user's jobs from taking every slot. Every step
 * waits on a gate the test opens, so slots free up exactly when the test says.
 */
describe.each<Provider>(["sqlite", "postgresql"])("fair turns on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    rt = await useTestEnvironment(database);
    alice = (await createUserWithToken(`fair-a-${provider}@example.com`)).userId;
    bob = (await createUserWithToken(`fair-b-${provider}@example.com`)).userId;
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  /** A one-step workflow whose step records its start, then holds until the test opens its gate. */
  function gatedWorkflow(id: string) {
    const log: string[] = [];
    const gates = new Map<string, () => void>();
    const startWaiters: { count: number; resolve(): void }[] = [];
    let openAll = false;
    const workflow: Workflow = testWorkflow(id, {
      only: async ({ jobId }) => {
        log.push(`start:${jobId}`);
        for (const waiter of startWaiters.filter((w) => log.filter((entry) => entry.startsWith("start:")).length >= w.count)) {
          startWaiters.splice(startWaiters.indexOf(waiter), 1);
          waiter.resolve();
        }
        if (!openAll) await new Promise<void>((resolve) => gates.set(jobId, resolve));
        return { ok: true };
      },
    });
    const starts = () => log.filter((entry) => entry.startsWith("start:")).map((entry) => entry.slice("start:".length));
    return {
      workflow,
      log,
      starts,
      /** Resolves once `count` steps have started. */
      started: (count: number) => (starts().length >= count ? Promise.resolve() : new Promise<void>((resolve) => startWaiters.push({ count, resolve }))),
      release(jobId: string) {
        log.push(`release:${jobId}`);
        gates.get(jobId)!();
      },
      releaseEverything() {
        openAll = true;
        for (const open of gates.values()) open();
      },
    };
  }

  function runnerFor(workflow: Workflow, limits: { concurrency: number; userConcurrency?: number }) {
    return new InProcessRunner({
      engine: { ...rt.engine, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) },
      checkHealth: async () => ({ healthy: true }),
      leaseMs: 30_000,
      sweepIntervalMs: 3_600_000,
      sweepBatch: 50,
      recheckSeconds: 1,
      ...limits,
    });
  }

  it("20 jobs of one user, then 1 of another: the other user's job starts within the next two free slots", async () => {
    const gated = gatedWorkflow(`fair-${provider}`);
    const runner = runnerFor(gated.workflow, { concurrency: 2 });
    const aliceJobs: string[] = [];
    for (let i = 0; i < 20; i += 1) aliceJobs.push(await insertTestJob(rt.store, gated.workflow, alice));
    for (const jobId of aliceJobs) runner.enqueue(jobId, alice);
    await gated.started(2);
    const bobJob = await insertTestJob(rt.store, gated.workflow, bob);
    // Whose job it is, given here, queues it at once: the free slots below cannot outrun its arrival.
    runner.enqueue(bobJob, bob);

    // Two slots free up, one after the other.
    const [first, second] = gated.starts();
    gated.release(first!);
    await gated.started(3);
    gated.release(second!);
    await gated.started(4);

    expect(gated.starts().slice(0, 2).every((jobId) => aliceJobs.includes(jobId))).toBe(true);
    expect(gated.starts().slice(2, 4)).toContain(bobJob);

    gated.releaseEverything();
    await runner.idle();
    expect(gated.starts()).toHaveLength(21);
    await waitForJobStatus(bobJob, ["completed"]);
    for (const jobId of aliceJobs) await waitForJobStatus(jobId, ["completed"]);
    await runner.stop();
  });

  it("honours the per-user limit: a user's next job starts only when one of theirs ends, while free slots go to others", async () => {
    const gated = gatedWorkflow(`limited-${provider}`);
    const runner = runnerFor(gated.workflow, { concurrency: 3, userConcurrency: 1 });
    const aliceJobs = [await insertTestJob(rt.store, gated.workflow, alice), await insertTestJob(rt.store, gated.workflow, alice)];
    const bobJob = await insertTestJob(rt.store, gated.workflow, bob);
    // Without a user given, the runner reads whose job each is before queuing it.
    for (const jobId of [...aliceJobs, bobJob]) runner.enqueue(jobId);
    await gated.started(2);
    expect(new Set(gated.starts())).toEqual(new Set([aliceJobs[0], bobJob]));

    // A slot is free all along, yet Alice's second job waits until her first ends.
    gated.release(aliceJobs[0]!);
    await gated.started(3);
    expect(gated.log.indexOf(`start:${aliceJobs[1]}`)).toBeGreaterThan(gated.log.indexOf(`release:${aliceJobs[0]}`));

    gated.releaseEverything();
    await runner.idle();
    for (const jobId of [...aliceJobs, bobJob]) await waitForJobStatus(jobId, ["completed"]);
    await runner.stop();
  });
});
