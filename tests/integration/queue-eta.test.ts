import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GET as executionDetails } from "@/app/workflows/execution/[jobId]/route";
import type { ExecutionDetails } from "@/components/api/types";
import { DEFAULT_STEP_SECONDS, queuedEtaSeconds } from "@/lib/engine/queue-eta";
import type { Runtime } from "@/lib/server/runtime";
import type { Workflow } from "@/lib/workflows/definition";
import { authed, createUserWithToken, eventsOf, jobParams, waitForJobStatus } from "../helpers/api";
import { closeTestEnvironment, createTestDatabase, inProcessRunner, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { insertTestJob, testWorkflow } from "../helpers/engine";

/**
 * The place in line and the ETA on real databases, through the runtime the server builds: one
 * execution at a time (WORKFLOW_CONCURRENCY=1), jobs of two users waiting, each step of the
 * gated workflow held until the test lets it finish. Places follow the users' turns, are announced
 * in progress events whenever they change, and the execution details answer them with an ETA from
 * recorded step durations (or the documented defaults before any).
 */
describe.each<Provider>(["sqlite", "postgresql"])("place in line and ETA on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const steps = [
    { name: "upload", type: "input", label: "Upload" },
    { name: "edit", type: "generation", label: "Edit" },
  ];
  // The first step holds until its job's gate opens: no step of this workflow completes before the test says.
  const gated: Workflow = testWorkflow(
    "queue-gated",
    {
      upload: async ({ jobId }) => {
        started.push(jobId);
        await new Promise<void>((resolve) => gates.set(jobId, resolve));
        return { ok: true };
      },
      edit: async () => ({ ok: true }),
    },
    { steps },
  );
  // Never run here: its recorded durations are written by the test.
  const measured: Workflow = testWorkflow("queue-measured", { upload: async () => ({}), edit: async () => ({}) }, { steps });

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    rt = await useTestEnvironment(database, { WORKFLOW_CONCURRENCY: "1" }, { registry: { workflows: new Map([gated, measured].map((w) => [w.config.id, w])), problems: [] } });
    alice = await createUserWithToken(`queue-a-${provider}@example.com`);
    bob = await createUserWithToken(`queue-b-${provider}@example.com`);
  });

  afterAll(async () => {
    for (const open of gates.values()) open();
    await closeTestEnvironment();
    await database.drop();
  });

  async function details(token: string, jobId: string): Promise<ExecutionDetails> {
    const response = await executionDetails(authed(token, `/workflows/execution/${jobId}`), jobParams(jobId));
    expect(response.status).toBe(200);
    return (await response.json()) as ExecutionDetails;
  }

  /** The places announced to a job so far, in order. */
  const announced = async (jobId: string) => (await eventsOf(jobId, "progress")).map((event) => event.data.queue_position).filter((place) => place !== undefined);

  async function until(check: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  const runStarted = (jobId: string) => until(async () => started.includes(jobId), `${jobId}'s run to start`);

  it("places waiting jobs in the order the runner takes them (users in turn), announces each change, and answers it in the details", async () => {
    const runner = inProcessRunner(rt);
    const a = [await insertTestJob(rt.store, gated, alice.userId), await insertTestJob(rt.store, gated, alice.userId), await insertTestJob(rt.store, gated, alice.userId)];
    const b = [await insertTestJob(rt.store, gated, bob.userId), await insertTestJob(rt.store, gated, bob.userId)];
    for (const jobId of [...a, ...b]) await rt.driver.enqueue(jobId, a.includes(jobId) ? alice.userId : bob.userId);
    await runStarted(a[0]!);

    // Alice just had her turn: Bob's first job is next, though it came after all of hers.
    const line = [b[0]!, a[1]!, b[1]!, a[2]!];
    expect(runner.waiting()).toEqual(line);
    for (const [index, jobId] of line.entries()) await until(async () => (await announced(jobId)).at(-1) === index + 1, `place ${index + 1} announced to ${jobId}`);

    // No run recorded yet: the ETA rests on the documented defaults per step type.
    const run = DEFAULT_STEP_SECONDS.input! + DEFAULT_STEP_SECONDS.generation!;
    const third = await details(bob.token, b[1]!);
    expect(third).toMatchObject({ queue_position: 3, eta_seconds: queuedEtaSeconds(3, 1, run), eta_basis: "defaults" });
    const [announcement] = (await eventsOf(b[1]!, "progress")).filter((event) => event.data.queue_position === 3);
    expect(announcement!.data).toMatchObject({ message: "Queued", step: 0, step_name: "upload", step_progress: 0, eta_seconds: queuedEtaSeconds(3, 1, run), eta_basis: "defaults" });
    // The running job's ETA: what its step has left of its expected time, then the steps after it.
    const running = await details(alice.token, a[0]!);
    expect(running).toMatchObject({ queue_position: null, eta_basis: "defaults" });
    expect(running.eta_seconds).toBeLessThanOrEqual(run);
    expect(running.eta_seconds).toBeGreaterThanOrEqual(DEFAULT_STEP_SECONDS.generation!);

    // Each slot that frees goes to the user served least recently; every waiting job hears its new place.
    gates.get(a[0]!)!();
    await runStarted(b[0]!);
    expect(runner.waiting()).toEqual([a[1], b[1], a[2]]);
    await until(async () => (await announced(b[1]!)).at(-1) === 2 && (await announced(a[2]!)).at(-1) === 3 && (await announced(a[1]!)).at(-1) === 1, "the places after the first turn");
    gates.get(b[0]!)!();
    await runStarted(a[1]!);
    await until(async () => (await announced(b[1]!)).at(-1) === 1, "Bob's second job first in line");
    expect((await details(bob.token, b[1]!)).queue_position).toBe(1);
    gates.get(a[1]!)!();
    await runStarted(b[1]!);
    gates.get(b[1]!)!();
    await runStarted(a[2]!);
    gates.get(a[2]!)!();
    for (const jobId of [...a, ...b]) await waitForJobStatus(jobId, ["completed"]);

    // Each step's start says what the run has left: the remaining steps' expected times, counting down by step.
    const starts = (await eventsOf(a[0]!, "progress")).filter((event) => event.data.message === "Upload" || event.data.message === "Edit");
    expect(starts.map((event) => [event.data.message, event.data.eta_seconds, event.data.eta_basis])).toEqual([
      ["Upload", run, "defaults"],
      ["Edit", DEFAULT_STEP_SECONDS.generation, "defaults"],
    ]);

    // Bob's second job heard its place go down, once per change, and never after it started.
    expect(await announced(b[1]!)).toEqual([3, 2, 1]);
    expect((await details(bob.token, b[1]!)).queue_position).toBeNull();

    // Its timeline: the wait in line, then each step's run, on one axis.
    const timeline = (await details(bob.token, b[1]!)).timeline;
    expect(timeline.map((segment) => [segment.step, segment.kind])).toEqual([
      [0, "queued"],
      [0, "running"],
      [1, "running"],
    ]);
    for (const segment of timeline) expect(segment.ended_at! >= segment.started_at).toBe(true);
    expect(timeline[0]!.ended_at).toBe(timeline[1]!.started_at);
  });

  it("takes the ETA from the median of recorded step runs, falls back per step, and counts queued jobs where the runner keeps no line", async () => {
    // Three recorded runs of the upload step (4 s, 6 s and 8 s); the edit step has none.
    const noon = Date.UTC(2026, 11, 1, 12);
    for (const seconds of [4, 6, 8]) {
      const jobId = await insertTestJob(rt.store, measured, alice.userId);
      const { fence } = (await rt.store.leaseRun(jobId, "test-runner", { ttlMs: 30_000 }))!;
      const event = { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0 } } as const;
      await rt.store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: { jobId, stepIndex: 0, candidate: 0, attempt: 1, startedAt: new Date(noon), progress: 0, event } });
      await rt.store.completeStep(fence, { jobId, stepIndex: 0, candidate: 0, output: {}, completedAt: new Date(noon + seconds * 1000), progress: 50, events: [] });
      await rt.store.failJob(fence, { jobId, code: "stop", message: "stop", errorClass: "hard", provider: null, events: [] });
    }
    // Queued without being handed to this process's runner: the place is the count of queued jobs queued before it (the approximation used under Inngest).
    const first = await insertTestJob(rt.store, measured, alice.userId);
    const second = await insertTestJob(rt.store, measured, bob.userId);
    const run = 6 + DEFAULT_STEP_SECONDS.generation!;
    // Two jobs queued in the same millisecond are ordered by id: which is first is not said, only that they are 1st and 2nd.
    const answers = [await details(alice.token, first), await details(bob.token, second)];
    expect(answers.map((answer) => answer.queue_position).sort()).toEqual([1, 2]);
    for (const answer of answers) expect(answer).toMatchObject({ eta_seconds: queuedEtaSeconds(answer.queue_position!, 1, run), eta_basis: "mixed" });
    // Another user's job is as absent as a missing one.
    const response = await executionDetails(authed(bob.token, `/workflows/execution/${first}`), jobParams(first));
    expect(response.status).toBe(404);
  });
});
