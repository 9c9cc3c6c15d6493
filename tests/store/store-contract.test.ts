import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JobEventInput } from "@/lib/contract/events";
import { resolveDatabase } from "@/lib/db/database-url";
import { openDatabase, type Database } from "@/lib/server/database";
import { checkpointLayout } from "@/lib/store/checkpoints";
import type { Fence, IdempotencyClaim, NewJob, StepStart, Store } from "@/lib/store/types";
import { createTestDatabase, type Provider, type TestDatabase } from "../helpers/db";

/**
 * The store's contract: the same cases against the SQLite and the PostgreSQL store. Each case
 * makes its own jobs, so cases do not depend on each other.
 */
describe.each<Provider>(["sqlite", "postgresql"])("store contract on %s", (provider) => {
  let testDb: TestDatabase;
  let database: Database;
  let store: Store;
  let userId: string;

  beforeAll(async () => {
    testDb = await createTestDatabase(provider);
    database = openDatabase(resolveDatabase(testDb.url, testDb.dataDir));
    store = database.store;
    userId = (await database.prisma.user.create({ data: { email: `store-${provider}@example.com` } })).id;
  });

  afterAll(async () => {
    await database.close();
    await testDb.drop();
  });

  const progress = (step: number, message: string): JobEventInput => ({ type: "progress", data: { step, step_name: `s${step}`, progress: step * 10, step_progress: 0, message } });

  function newJob(overrides: Partial<NewJob> = {}): NewJob {
    return {
      userId,
      workflow: { id: "wf", version: "v1", config: { id: "wf", steps: [{ name: "s0" }, { name: "s1" }] } },
      inputs: { prompt: "a cat" },
      maxAttempts: 3,
      firstEvent: progress(0, "Queued"),
      ...overrides,
    };
  }

  function stepStart(jobId: string, stepIndex: number, attempt = 1): StepStart {
    return { jobId, stepIndex, candidate: 0, attempt, startedAt: new Date(), progress: stepIndex * 10, event: progress(stepIndex, `start ${stepIndex}`) };
  }

  /** A job taken by `owner` and begun at step 0. */
  async function runningJob(owner = "runner-a"): Promise<{ jobId: string; fence: Fence }> {
    const jobId = await store.insertJob(newJob());
    const leased = await store.leaseRun(jobId, owner, { ttlMs: 30_000 });
    expect(await store.beginRun(leased!.fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) })).toBe(true);
    return { jobId, fence: leased!.fence };
  }

  const eventTypes = async (jobId: string) => (await store.readEvents(jobId, 0, 100)).map((event) => `${event.type}:${(JSON.parse(event.json) as { message?: string }).message ?? ""}`);

  it("inserts a job with its execution, version, first event and upload, and reads it back", async () => {
    const data = Buffer.from([1, 2, 3, 4]);
    const jobId = await store.insertJob(newJob({ upload: { filename: "a.png", contentType: "image/png", data, width: 2, height: 1 } }));
    const job = await store.getJob(jobId);
    expect(job).toMatchObject({ id: jobId, userId, workflowId: "wf", workflowVersion: "v1", status: "queued", progress: 0, inputs: { prompt: "a cat" }, attempts: 0, result: null });
    expect(job!.execution).toMatchObject({ jobId, currentStep: 0, retryCount: 0, maxAttempts: 3, lastError: null });
    expect(job!.upload).toEqual({ filename: "a.png", contentType: "image/png", size: 4, width: 2, height: 1 });
    expect(job!.checkpoints).toEqual([]);
    expect(await store.readUpload(jobId)).toEqual({ filename: "a.png", contentType: "image/png", data });
    expect(await store.readWorkflowVersion("wf", "v1")).toEqual({ id: "wf", steps: [{ name: "s0" }, { name: "s1" }] });
    expect(await eventTypes(jobId)).toEqual(["progress:Queued"]);
    expect(await store.getJob("no-such-job")).toBeUndefined();
  });

  it("inserts a job's extra uploads beside its upload, one row per field: each read by its field, the job's summary its upload's", async () => {
    const main = Buffer.from([1, 1, 1]);
    const style = Buffer.from([2, 2]);
    const mask = Buffer.from([3]);
    const jobId = await store.insertJob(
      newJob({
        upload: { filename: "main.png", contentType: "image/png", data: main, width: 3, height: 1 },
        extraUploads: [
          { field: "style", filename: "style.jpg", contentType: "image/jpeg", data: style, width: 2, height: 1 },
          { field: "mask", filename: "mask.webp", contentType: "image/webp", data: mask, width: 1, height: 1 },
        ],
      }),
    );
    expect((await store.getJob(jobId))!.upload).toEqual({ filename: "main.png", contentType: "image/png", size: 3, width: 3, height: 1 });
    expect(await store.readUpload(jobId)).toEqual({ filename: "main.png", contentType: "image/png", data: main });
    expect(await store.readUpload(jobId, "style")).toEqual({ filename: "style.jpg", contentType: "image/jpeg", data: style });
    expect(await store.readUpload(jobId, "mask")).toEqual({ filename: "mask.webp", contentType: "image/webp", data: mask });
    expect(await store.readUpload(jobId, "other")).toBeUndefined();
    // One summary per job in the list, however many images it keeps.
    expect((await store.listJobs(userId, { limit: 100 })).jobs.filter((job) => job.id === jobId)).toHaveLength(1);

    // Extra images without the job's upload (an optional first image not sent); and through the idempotent insert.
    const id = randomUUID();
    const now = new Date();
    const claim: IdempotencyClaim = { userId, key: `k-${id}`, requestHash: "h", jobId: id, response: { status: 202, body: {} }, now, expiresAt: new Date(now.getTime() + 60_000) };
    expect(await store.insertIdempotentJob({ ...newJob({ extraUploads: [{ field: "style", filename: "s.png", contentType: "image/png", data: style, width: 2, height: 1 }] }), id }, claim)).toEqual({ jobId: id });
    expect((await store.getJob(id))!.upload).toBeNull();
    expect(await store.readUpload(id)).toBeUndefined();
    expect(await store.readUpload(id, "style")).toEqual({ filename: "s.png", contentType: "image/png", data: style });

    // A field twice is refused whole: nothing of the job is stored.
    const before = await database.prisma.job.count();
    const twice = { field: "style", filename: "s.png", contentType: "image/png", data: style, width: 2, height: 1 };
    await expect(store.insertJob(newJob({ extraUploads: [twice, twice] }))).rejects.toThrow();
    expect(await database.prisma.job.count()).toBe(before);

    // A rerun copies every field.
    const rerunId = await store.insertJob(newJob({ rerun: { parentJobId: jobId, fromStep: 0, progress: 0, checkpoints: [], copiedEvents: [] } }));
    expect(await store.readUpload(rerunId)).toEqual({ filename: "main.png", contentType: "image/png", data: main });
    expect(await store.readUpload(rerunId, "style")).toEqual({ filename: "style.jpg", contentType: "image/jpeg", data: style });
    expect(await store.readUpload(rerunId, "mask")).toEqual({ filename: "mask.webp", contentType: "image/webp", data: mask });
    expect((await store.getJob(rerunId))!.upload).toEqual({ filename: "main.png", contentType: "image/png", size: 3, width: 3, height: 1 });
    expect(await database.prisma.upload.count({ where: { jobId: rerunId } })).toBe(3);
  });

  it("inserts a rerun: lineage, the parent's upload and checkpoints copied, copied events first, listed under its parent", async () => {
    const data = Buffer.from([5, 6, 7]);
    const parentId = await store.insertJob(newJob({ upload: { filename: "p.png", contentType: "image/png", data, width: 3, height: 1 } }));
    const startedAt = new Date("2026-12-01T10:00:00.000Z");
    const completedAt = new Date("2026-12-01T10:00:02.500Z");
    const copied: JobEventInput = { type: "checkpoint", data: { step: 0, step_name: "s0", status: "completed", output: { image_url: "u0" } } };
    const rerunId = await store.insertJob(
      newJob({
        inputs: { prompt: "a dog" },
        firstEvent: progress(1, "Queued"),
        rerun: { parentJobId: parentId, fromStep: 1, progress: 50, checkpoints: [{ stepIndex: 0, candidate: 0, output: { image_url: "u0" }, startedAt, completedAt }], copiedEvents: [copied] },
      }),
    );
    const rerun = await store.getJob(rerunId);
    expect(rerun).toMatchObject({ status: "queued", progress: 50, inputs: { prompt: "a dog" }, parentJobId: parentId, rerunFromStep: 1 });
    expect(rerun!.execution.currentStep).toBe(1);
    expect(rerun!.upload).toEqual({ filename: "p.png", contentType: "image/png", size: 3, width: 3, height: 1 });
    expect(await store.readUpload(rerunId)).toEqual({ filename: "p.png", contentType: "image/png", data });
    expect(checkpointLayout(rerun!.checkpoints)).toEqual({ "0": { status: "completed", output: { image_url: "u0" }, started_at: startedAt.toISOString(), completed_at: completedAt.toISOString() } });
    expect(await eventTypes(rerunId)).toEqual(["checkpoint:", "progress:Queued"]);
    // The rerun's run resumes at the step it runs from: its lease reads the copied rows.
    const leased = await store.leaseRun(rerunId, "runner-r", { ttlMs: 30_000 });
    expect(leased!.job.checkpoints.map((row) => [row.stepIndex, row.status])).toEqual([[0, "completed"]]);
    const second = await store.insertJob(newJob({ rerun: { parentJobId: parentId, fromStep: 0, progress: 0, checkpoints: [], copiedEvents: [] } }));
    expect((await store.listReruns(parentId)).map((child) => [child.id, child.status, child.rerunFromStep])).toEqual([
      [rerunId, "queued", 1],
      [second, "queued", 0],
    ]);
    expect(await store.listReruns(rerunId)).toEqual([]);
    expect((await store.getJob(parentId))!.parentJobId).toBeNull();
    // A rerun of a job that does not exist is refused whole.
    const before = await database.prisma.job.count();
    await expect(store.insertJob(newJob({ rerun: { parentJobId: "no-such-job", fromStep: 0, progress: 0, checkpoints: [], copiedEvents: [] } }))).rejects.toThrow();
    expect(await database.prisma.job.count()).toBe(before);
  });

  it("waits for approval: awaiting_approval with the lease released; one decision (or a cancel, or the timeout) applies, never two", async () => {
    const awaitingJob = async () => {
      const { jobId, fence } = await runningJob();
      const since = new Date("2030-01-01T00:00:00.000Z");
      const until = new Date("2030-01-02T00:00:00.000Z");
      const event: JobEventInput = { type: "awaiting", data: { status: "awaiting_approval", awaiting: "approval", step: 1, step_name: "s1", output: { image: "u" }, since: since.toISOString(), until: until.toISOString() } };
      expect(await store.awaitApproval(fence, { jobId, stepIndex: 1, since, until, event })).toBe(true);
      return { jobId, fence, until };
    };
    const approvedEvent: JobEventInput = { type: "progress", data: { step: 1, step_name: "s1", progress: 50, step_progress: 0, message: "Approved" } };
    const canceledEvent: JobEventInput = { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } };

    const approved = await awaitingJob();
    let job = await store.getJob(approved.jobId);
    expect(job).toMatchObject({ status: "awaiting_approval", awaitingSince: new Date("2030-01-01T00:00:00.000Z"), awaitingUntil: approved.until });
    expect(job!.execution.currentStep).toBe(1);
    // The lease went with the wait: another runner could take it, the old one writes nothing.
    expect(await store.recordProgress(approved.fence, { jobId: approved.jobId, progress: 60, event: approvedEvent })).toBe(false);
    expect(await store.findOrphans(new Date(), 100, "none:")).not.toContainEqual(expect.objectContaining({ jobId: approved.jobId }));
    expect(await store.findDueRetries(new Date("2100-01-01T00:00:00.000Z"), 100)).not.toContainEqual(expect.objectContaining({ jobId: approved.jobId }));
    expect(await store.decideApproval(approved.jobId, { approve: true, stepIndex: 1, event: approvedEvent })).toBe(true);
    expect(await store.decideApproval(approved.jobId, { approve: false, message: "no", event: canceledEvent })).toBe(false);
    expect(await store.cancelJob(approved.jobId, { from: "awaiting_approval", message: "Canceled by user", event: canceledEvent })).toBe(false);
    job = await store.getJob(approved.jobId);
    expect(job).toMatchObject({ status: "running", awaitingSince: null, awaitingUntil: null, attempts: 1 });
    const resumed = await store.leaseRun(approved.jobId, "runner-b", { ttlMs: 30_000 });
    expect(resumed!.job).toMatchObject({ status: "running", approvedStep: 1 });

    const rejected = await awaitingJob();
    expect(await store.decideApproval(rejected.jobId, { approve: false, message: "Too dark", event: { type: "error", data: { status: "canceled", code: "approval_rejected", error: "Too dark" } } })).toBe(true);
    expect(await store.cancelJob(rejected.jobId, { from: "awaiting_approval", message: "Canceled by user", event: canceledEvent })).toBe(false);
    expect(await store.getJob(rejected.jobId)).toMatchObject({ status: "canceled", error: "Too dark", errorCode: "approval_rejected" });

    const canceled = await awaitingJob();
    expect(await store.cancelJob(canceled.jobId, { from: "awaiting_approval", message: "Canceled by user", event: canceledEvent })).toBe(true);
    expect(await store.decideApproval(canceled.jobId, { approve: true, stepIndex: 1, event: approvedEvent })).toBe(false);
    expect(await store.getJob(canceled.jobId)).toMatchObject({ status: "canceled", awaitingUntil: null });

    const expired = await awaitingJob();
    const timeout: JobEventInput & { type: "error" } = { type: "error", data: { status: "failed", code: "approval_timeout", error: "Nobody approved the next step in time." } };
    expect((await store.findExpiredApprovals(new Date("2030-01-01T12:00:00.000Z"), 100)).map((wait) => wait.jobId)).not.toContain(expired.jobId);
    expect(await store.findExpiredApprovals(new Date("2030-01-02T00:00:01.000Z"), 100)).toContainEqual({ jobId: expired.jobId, until: expired.until });
    // A check naming another wait's end changes nothing.
    expect(await store.expireApproval(expired.jobId, new Date("2030-01-01T23:59:59.000Z"), timeout)).toBe(false);
    expect(await store.expireApproval(expired.jobId, expired.until, timeout)).toBe(true);
    expect(await store.expireApproval(expired.jobId, expired.until, timeout)).toBe(false);
    expect(await store.decideApproval(expired.jobId, { approve: true, stepIndex: 1, event: approvedEvent })).toBe(false);
    expect(await store.getJob(expired.jobId)).toMatchObject({ status: "failed", errorCode: "approval_timeout" });
    expect((await store.findExpiredApprovals(new Date("2100-01-01T00:00:00.000Z"), 100)).map((wait) => wait.jobId)).not.toContain(expired.jobId);
    expect((await store.readEvents(expired.jobId, 0, 100)).map((event) => event.type)).toEqual(["progress", "progress", "awaiting", "error"]);
  });

  it("does not time out an approval asked for again after a stale check read the earlier wait", async () => {
    const jobId = await store.insertJob(newJob({ approvalSteps: [1] }));
    const wait = async (owner: string, until: Date) => {
      const leased = await store.leaseRun(jobId, owner, { ttlMs: 30_000 });
      // An approved job resumes as running: only a queued one is begun.
      if (leased!.job.status === "queued") expect(await store.beginRun(leased!.fence, { jobId, from: { status: "queued", attempts: 0 } })).toBe(true);
      const since = new Date(until.getTime() - 1000);
      const event: JobEventInput = { type: "awaiting", data: { status: "awaiting_approval", awaiting: "approval", step: 1, step_name: "s1", output: {}, since: since.toISOString(), until: until.toISOString() } };
      expect(await store.awaitApproval(leased!.fence, { jobId, stepIndex: 1, since, until, event })).toBe(true);
    };
    const first = new Date("2030-01-02T00:00:00.000Z");
    await wait("runner-a", first);
    const [stale] = (await store.findExpiredApprovals(new Date("2030-01-03T00:00:00.000Z"), 100)).filter((found) => found.jobId === jobId);
    expect(stale).toEqual({ jobId, until: first });
    // Meanwhile: approved, and the job waits again (a later approval of the same job) until a later time.
    expect(await store.decideApproval(jobId, { approve: true, stepIndex: 1, event: progress(1, "Approved") })).toBe(true);
    const second = new Date("2030-02-01T00:00:00.000Z");
    await wait("runner-b", second);
    const timeout: JobEventInput & { type: "error" } = { type: "error", data: { status: "failed", code: "approval_timeout", error: "late" } };
    expect(await store.expireApproval(jobId, stale!.until, timeout)).toBe(false);
    expect(await store.getJob(jobId)).toMatchObject({ status: "awaiting_approval", awaitingUntil: second });
    expect(await store.expireApproval(jobId, second, timeout)).toBe(true);
  });

  it("runs candidates: each its own checkpoint row; the job waits as awaiting_input; one pick (or a cancel) applies, never two", async () => {
    const jobId = await store.insertJob(newJob({ candidates: { steps: { 1: 3 }, autoPick: false } }));
    expect((await store.getJob(jobId))!.candidates).toEqual({ steps: { 1: 3 }, autoPick: false });
    const leased = await store.leaseRun(jobId, "runner-c", { ttlMs: 30_000 });
    expect(leased!.job.candidates).toEqual({ steps: { 1: 3 }, autoPick: false });
    const fence = leased!.fence;
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 } })).toBe(true);
    for (const candidate of [1, 2, 3]) {
      expect(await store.startStep(fence, { ...stepStart(jobId, 1), candidate })).toBe(true);
      expect(await store.saveStepState(fence, { jobId, stepIndex: 1, candidate, state: { prediction: `p${candidate}` } })).toBe(true);
    }
    for (const candidate of [1, 3]) {
      const done = await store.completeStep(fence, { jobId, stepIndex: 1, candidate, output: { image: `u${candidate}` }, cost: { micros: 1000, providerMs: null }, completedAt: new Date(), progress: 50, events: [] });
      expect(done).toBe(true);
    }
    const failure = { stepIndex: 1, candidate: 2, error: "blocked", errorClass: "hard" as const, errorReason: "content_policy" };
    expect(await store.failCandidate(fence, { jobId, step: failure, events: [] })).toBe(true);
    const rows = (await store.getJob(jobId))!.checkpoints.filter((row) => row.stepIndex === 1);
    expect(rows.map((row) => [row.candidate, row.status, row.output])).toEqual([
      [1, "completed", { image: "u1" }],
      [2, "failed", null],
      [3, "completed", { image: "u3" }],
    ]);
    // The layout shows no entry for the step yet, and its candidates under it.
    const since = new Date("2030-01-01T00:00:00.000Z");
    const event: JobEventInput = { type: "awaiting", data: { status: "awaiting_input", awaiting: "pick", step: 1, step_name: "s1", candidates: [], since: since.toISOString() } };
    expect(await store.awaitInput(fence, { jobId, stepIndex: 1, since, event })).toBe(true);
    const waiting = await store.getJob(jobId);
    expect(waiting).toMatchObject({ status: "awaiting_input", awaitingSince: since, awaitingUntil: null });
    expect(waiting!.execution.currentStep).toBe(1);
    // The lease went with the wait; recovery and the retry sweep leave the job alone.
    expect(await store.recordProgress(fence, { jobId, progress: 60, event: progress(1, "late") })).toBe(false);
    expect(await store.findOrphans(new Date(), 100, "none:")).not.toContainEqual(expect.objectContaining({ jobId }));
    expect(await store.findDueRetries(new Date("2100-01-01T00:00:00.000Z"), 100)).not.toContainEqual(expect.objectContaining({ jobId }));
    // A pick naming another step changes nothing; the first pick applies; a second pick and a cancel do not.
    const picked = (step: number, candidate: number) => ({ stepIndex: step, candidate, output: { image: `u${candidate}` }, pickedAt: new Date(), events: [progress(step, `picked ${candidate}`)] });
    expect(await store.pickCandidate(jobId, picked(0, 1))).toBe(false);
    expect(await store.pickCandidate(jobId, picked(1, 3))).toBe(true);
    expect(await store.pickCandidate(jobId, picked(1, 1))).toBe(false);
    expect(await store.cancelJob(jobId, { from: "awaiting_input", message: "Canceled by user", event: progress(1, "cancel") })).toBe(false);
    const job = await store.getJob(jobId);
    expect(job).toMatchObject({ status: "running", awaitingSince: null, attempts: 1, actualMicroUsd: 2000 });
    expect(job!.checkpoints.find((row) => row.stepIndex === 1 && row.candidate === 0)).toMatchObject({ status: "completed", output: { image: "u3" }, costMicroUsd: 0 });
    expect(await eventTypes(jobId)).toContain("progress:picked 3");
    expect(await eventTypes(jobId)).not.toContain("progress:picked 1");
    // The resumed run reads every candidate row and the pick.
    const resumed = await store.leaseRun(jobId, "runner-d", { ttlMs: 30_000 });
    expect(resumed!.job.checkpoints.filter((row) => row.stepIndex === 1).map((row) => row.candidate)).toEqual([0, 1, 2, 3]);

    // A cancel first: the pick is refused.
    const other = await store.insertJob(newJob({ candidates: { steps: { 1: 2 }, autoPick: true } }));
    const otherLease = await store.leaseRun(other, "runner-e", { ttlMs: 30_000 });
    expect(await store.beginRun(otherLease!.fence, { jobId: other, from: { status: "queued", attempts: 0 } })).toBe(true);
    expect(await store.awaitInput(otherLease!.fence, { jobId: other, stepIndex: 1, since, event })).toBe(true);
    expect(await store.cancelJob(other, { from: "awaiting_input", message: "Canceled by user", event: progress(1, "cancel") })).toBe(true);
    expect(await store.pickCandidate(other, { ...picked(1, 1), events: [] })).toBe(false);
    expect(await store.getJob(other)).toMatchObject({ status: "canceled", awaitingSince: null, candidates: { steps: { 1: 2 }, autoPick: true } });
    // A job without candidates reads as none.
    expect((await store.getJob(await store.insertJob(newJob())))!.candidates).toEqual({ steps: {}, autoPick: false });
  });

  it("fences a write that holds under any epoch of its owner (a run's parallel invocations) by the owner alone", async () => {
    const { jobId, fence } = await runningJob("inngest:run-1");
    const again = await store.leaseRun(jobId, "inngest:run-1", { ttlMs: null });
    expect(again!.fence.epoch).toBeGreaterThan(fence.epoch);
    const candidate = (owner: Fence) => store.saveStepState(owner, { jobId, stepIndex: 1, candidate: 2, state: { prediction: "p" } });
    // The older take of the same owner: refused with the epoch, accepted by the owner alone.
    expect(await candidate(fence)).toBe(false);
    expect(await candidate({ ...fence, anyEpoch: true })).toBe(true);
    // Another owner is refused either way.
    expect(await candidate({ owner: "inngest:run-2", epoch: again!.fence.epoch, anyEpoch: true })).toBe(false);
  });

  it("records the steps a job waits before, and reads them with the run", async () => {
    const jobId = await store.insertJob(newJob({ approvalSteps: [1] }));
    expect((await store.getJob(jobId))!.approvalSteps).toEqual([1]);
    const leased = await store.leaseRun(jobId, "runner-a", { ttlMs: 30_000 });
    expect(leased!.job).toMatchObject({ approvalSteps: [1], approvedStep: null });
    expect((await store.getJob(await store.insertJob(newJob())))!.approvalSteps).toEqual([]);
  });

  it("writes nothing of a job when any of its rows is refused", async () => {
    const counts = () => Promise.all([database.prisma.job.count(), database.prisma.workflowExecution.count(), database.prisma.jobEvent.count(), database.prisma.upload.count()]);
    const before = await counts();
    // The upload is written after the job and its execution: its refusal must take them back too.
    const badUpload = { filename: null as unknown as string, contentType: "image/png", data: Buffer.from([1]), width: 1, height: 1 };
    await expect(store.insertJob(newJob({ upload: badUpload }))).rejects.toThrow();
    await expect(store.insertJob(newJob({ userId: "no-such-user" }))).rejects.toThrow();
    expect(await counts()).toEqual(before);
  });

  it("keeps the first config recorded for a version", async () => {
    await store.insertJob(newJob({ workflow: { id: "wf-keep", version: "k1", config: { first: true } } }));
    await store.insertJob(newJob({ workflow: { id: "wf-keep", version: "k1", config: { first: false } } }));
    expect(await store.readWorkflowVersion("wf-keep", "k1")).toEqual({ first: true });
  });

  it("lists a user's jobs newest first, a page at a time, filtered by status", async () => {
    const other = (await database.prisma.user.create({ data: { email: `lister-${provider}@example.com` } })).id;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.insertJob(newJob({ userId: other })));
    const first = await store.listJobs(other, { limit: 2 });
    const second = await store.listJobs(other, { limit: 2, cursor: first.nextCursor! });
    const third = await store.listJobs(other, { limit: 2, cursor: second.nextCursor! });
    const listed = [...first.jobs, ...second.jobs, ...third.jobs].map((job) => job.id);
    expect(new Set(listed)).toEqual(new Set(ids));
    expect(listed).toHaveLength(5);
    expect(third.nextCursor).toBeNull();
    const created = [...first.jobs, ...second.jobs, ...third.jobs].map((job) => job.createdAt.getTime());
    expect(created).toEqual([...created].sort((a, b) => b - a));
    expect((await store.listJobs(other, { limit: 10, status: "running" })).jobs).toEqual([]);
  });

  it("leases an execution to one owner at a time, raising the epoch with every take", async () => {
    const jobId = await store.insertJob(newJob());
    const first = await store.leaseRun(jobId, "a", { ttlMs: 30_000 });
    expect(first?.fence).toEqual({ owner: "a", epoch: 1 });
    expect(first?.job).toMatchObject({ jobId, status: "queued", attempts: 0, maxAttempts: 3, inputs: { prompt: "a cat" }, checkpoints: [] });
    expect(await store.leaseRun(jobId, "b", { ttlMs: 30_000 })).toBeUndefined();
    expect((await store.leaseRun(jobId, "a", { ttlMs: 30_000 }))?.fence).toEqual({ owner: "a", epoch: 2 });
    // An owner known to be dead is taken over at once.
    expect((await store.leaseRun(jobId, "c", { ttlMs: 30_000, takeOverFrom: (owner) => owner === "a" }))?.fence).toEqual({ owner: "c", epoch: 3 });
    expect(await store.leaseRun(jobId, "d", { ttlMs: 30_000, takeOverFrom: () => false })).toBeUndefined();
  });

  it("lets anyone take an expired lease, and never expires a lease taken without a time limit", async () => {
    const jobId = await store.insertJob(newJob());
    expect(await store.leaseRun(jobId, "a", { ttlMs: -1 })).toBeDefined();
    expect((await store.leaseRun(jobId, "b", { ttlMs: null }))?.fence).toEqual({ owner: "b", epoch: 2 });
    expect(await store.leaseRun(jobId, "c", { ttlMs: 30_000 })).toBeUndefined();
    expect((await store.findOrphans(new Date(Date.now() + 3_600_000), 100, "nobody:")).map((o) => o.jobId)).not.toContain(jobId);
  });

  it("renews a held lease, reports a lost one, and tells the job's status either way", async () => {
    const { jobId, fence } = await runningJob();
    expect(await store.renewLease(jobId, fence, 30_000)).toEqual({ held: true, status: "running" });
    await store.leaseRun(jobId, "other", { ttlMs: 30_000, takeOverFrom: () => true });
    expect(await store.renewLease(jobId, fence, 30_000)).toEqual({ held: false, status: "running" });
  });

  it("begins a queued run once: running, one attempt counted, first step started", async () => {
    const jobId = await store.insertJob(newJob());
    const { fence } = (await store.leaseRun(jobId, "a", { ttlMs: 30_000 }))!;
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 5 }, step: stepStart(jobId, 0) })).toBe(false);
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) })).toBe(true);
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 } })).toBe(false);
    const job = await store.getJob(jobId);
    expect(job).toMatchObject({ status: "running", attempts: 1, progress: 0 });
    expect(job!.checkpoints).toMatchObject([{ stepIndex: 0, candidate: 0, status: "running", attempt: 1, output: null }]);
    expect(await eventTypes(jobId)).toEqual(["progress:Queued", "progress:start 0"]);
  });

  it("completes a step together with the next step's start, and the last step together with the job", async () => {
    const { jobId, fence } = await runningJob();
    const completedAt = new Date();
    expect(
      await store.completeStep(fence, {
        jobId,
        stepIndex: 0,
        candidate: 0,
        output: { image_url: "http://x/0.png" },
        completedAt,
        progress: 50,
        events: [{ type: "checkpoint", data: { step: 0, step_name: "s0", status: "completed", output: { image_url: "http://x/0.png" } } }],
        next: stepStart(jobId, 1),
      }),
    ).toBe(true);
    let job = await store.getJob(jobId);
    expect(job!.execution.currentStep).toBe(1);
    expect(checkpointLayout(job!.checkpoints)).toEqual({
      "0": { status: "completed", output: { image_url: "http://x/0.png" }, started_at: expect.any(String), completed_at: completedAt.toISOString() },
      "1": { status: "running", started_at: expect.any(String) },
    });
    expect(
      await store.completeStep(fence, { jobId, stepIndex: 1, candidate: 0, output: { video_url: "v" }, completedAt: new Date(), progress: 100, events: [{ type: "complete", data: { result: { video_url: "v" } } }], result: { video_url: "v" } }),
    ).toBe(true);
    job = await store.getJob(jobId);
    expect(job).toMatchObject({ status: "completed", progress: 100, result: { video_url: "v" }, error: null });
    expect(job!.completedAt).toBeInstanceOf(Date);
    expect(job!.execution.currentStep).toBe(2);
    expect(await eventTypes(jobId)).toEqual(["progress:Queued", "progress:start 0", "checkpoint:", "progress:start 1", "complete:"]);
    // The lease was released with the completion: anyone may take it (nothing is left to run).
    expect(await store.leaseRun(jobId, "someone", { ttlMs: 1000 })).toBeDefined();
  });

  it("keeps a job's estimate and each step's cost: a completed step's as reported, a failed step's at 0", async () => {
    const jobId = await store.insertJob(newJob({ estimate: { micros: 539_000, steps: [0, 39_000, null] } }));
    const leased = await store.leaseRun(jobId, "runner-cost", { ttlMs: 30_000 });
    const fence = leased!.fence;
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) })).toBe(true);
    let job = await store.getJob(jobId);
    expect(job!.estimate).toEqual({ micros: 539_000, steps: [0, 39_000, null] });
    expect(job!.checkpoints[0]).toMatchObject({ status: "running", costMicroUsd: null, providerMs: null });
    const cost = { micros: 39_000, providerMs: 12_345 };
    expect(await store.completeStep(fence, { jobId, stepIndex: 0, candidate: 0, output: {}, cost, completedAt: new Date(), progress: 50, events: [], next: stepStart(jobId, 1) })).toBe(true);
    expect(
      await store.parkJob(fence, {
        jobId,
        step: { stepIndex: 1, candidate: 0, error: "Replicate is down", errorClass: "retryable", errorReason: "outage" },
        retryCount: 1,
        nextRetryAt: new Date(Date.now() + 60_000),
        provider: "replicate",
        events: [],
      }),
    ).toBe(true);
    job = await store.getJob(jobId);
    expect(job!.checkpoints.map((row) => [row.status, row.costMicroUsd, row.providerMs])).toEqual([
      ["completed", 39_000, 12_345],
      ["failed_retryable", 0, null],
    ]);
    expect(job!.actualMicroUsd).toBe(39_000);
    const listed = (await store.listJobs(userId, { limit: 100 })).jobs.find((summary) => summary.id === jobId);
    expect(listed).toMatchObject({ estimate: { micros: 539_000 }, actualMicroUsd: 39_000 });
    // A job stored without an estimate (older callers) is estimated at 0.
    const plain = await store.getJob(await store.insertJob(newJob()));
    expect(plain).toMatchObject({ estimate: { micros: 0, steps: [] }, actualMicroUsd: 0 });
  });

  it("keeps the models a job chose, for reads and for its run, and stores a job without an upload", async () => {
    const jobId = await store.insertJob(newJob({ models: { s1: "owner/model-b" } }));
    const job = await store.getJob(jobId);
    expect(job).toMatchObject({ models: { s1: "owner/model-b" }, upload: null });
    expect(await store.readUpload(jobId)).toBeUndefined();
    expect((await store.listJobs(userId, { limit: 100 })).jobs.find((summary) => summary.id === jobId)?.models).toEqual({ s1: "owner/model-b" });
    const leased = await store.leaseRun(jobId, "runner-models", { ttlMs: 30_000 });
    expect(leased!.job.models).toEqual({ s1: "owner/model-b" });
    await store.releaseLease(jobId, leased!.fence);
    // A job that chose nothing reads as {} (the column is null).
    expect((await store.getJob(await store.insertJob(newJob())))!.models).toEqual({});
  });

  it("sums a user's spend and what their active jobs still expect, lists charged steps, and keeps a user's own budget", async () => {
    const spender = (await database.prisma.user.create({ data: { email: `spender-${provider}@example.com` } })).id;
    const monthStart = new Date(Date.now() - 60_000);
    const jobId = await store.insertJob(newJob({ userId: spender, estimate: { micros: 539_000, steps: [0, 39_000, 500_000] } }));
    const leased = await store.leaseRun(jobId, "runner-spend", { ttlMs: 30_000 });
    const fence = leased!.fence;
    expect(await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) })).toBe(true);
    expect(await store.completeStep(fence, { jobId, stepIndex: 0, candidate: 0, output: {}, cost: { micros: 39_000, providerMs: null }, completedAt: new Date(), progress: 50, events: [] })).toBe(true);
    // Running: 0.039 spent, 0.5 still expected.
    expect(await store.readSpending(spender, monthStart)).toEqual({ spentMicros: 39_000, outstandingMicros: 500_000 });
    expect(await store.readSpending(spender, new Date(Date.now() + 60_000))).toEqual({ spentMicros: 0, outstandingMicros: 500_000 });
    const charges = await store.listCharges(spender, { from: monthStart, to: new Date(Date.now() + 60_000), limit: 10 });
    expect(charges).toEqual([{ jobId, workflowId: "wf", stepIndex: 0, candidate: 0, costMicroUsd: 39_000, chargedAt: expect.any(Date) }]);
    expect(await store.listCharges(spender, { from: new Date(Date.now() + 60_000), to: new Date(Date.now() + 120_000), limit: 10 })).toEqual([]);

    expect(await store.readUserBudget(spender)).toBeNull();
    await store.setUserBudget(spender, 5_000_000_000);
    expect(await store.readUserBudget(spender)).toBe(5_000_000_000);
    await store.setUserBudget(spender, 250_000);
    expect(await store.readUserBudget(spender)).toBe(250_000);
    await store.setUserBudget(spender, null);
    expect(await store.readUserBudget(spender)).toBeNull();
  });

  it("refuses a job or a retry that would pass the budget, storing nothing", async () => {
    const careful = (await database.prisma.user.create({ data: { email: `careful-${provider}@example.com` } })).id;
    const budget = { limitMicros: 1_000_000, monthStart: new Date(Date.now() - 60_000) };
    const counts = () => Promise.all([database.prisma.job.count(), database.prisma.jobEvent.count(), database.prisma.workflowVersion.count()]);
    const first = await store.insertJob(newJob({ userId: careful, estimate: { micros: 600_000, steps: [600_000] }, budget }));
    const before = await counts();
    await expect(store.insertJob(newJob({ userId: careful, estimate: { micros: 500_000, steps: [500_000] }, budget, workflow: { id: "wf-new", version: "v9", config: {} } }))).rejects.toMatchObject({
      name: "BudgetExceededError",
      limitMicros: 1_000_000,
      committedMicros: 600_000,
      requestedMicros: 500_000,
    });
    expect(await counts()).toEqual(before);
    // Exactly at the limit is allowed.
    const second = await store.insertJob(newJob({ userId: careful, estimate: { micros: 400_000, steps: [400_000] }, budget }));

    // Canceled, the first job no longer counts; retrying it would bring back its 0.6 on top of the second's 0.4 and a third's 0.1.
    expect(await store.cancelJob(first, { from: "queued", message: "Canceled", event: progress(0, "canceled") })).toBe(true);
    await store.insertJob(newJob({ userId: careful, estimate: { micros: 100_000, steps: [100_000] }, budget }));
    await expect(store.requeueJob(first, { from: "canceled", event: progress(0, "Retry requested"), budget })).rejects.toMatchObject({ name: "BudgetExceededError", requestedMicros: 600_000 });
    expect((await store.getJob(first))!.status).toBe("canceled");
    expect(await store.cancelJob(second, { from: "queued", message: "Canceled", event: progress(0, "canceled") })).toBe(true);
    expect(await store.requeueJob(first, { from: "canceled", event: progress(0, "Retry requested"), budget })).toBe(true);
    expect((await store.getJob(first))!.status).toBe("queued");
  });

  it("fences every write: once another runner has taken the execution, the old one changes nothing", async () => {
    const { jobId, fence } = await runningJob("stale");
    await store.saveStepState(fence, { jobId, stepIndex: 0, candidate: 0, state: { predictionId: "p1" } });
    const taken = await store.leaseRun(jobId, "fresh", { ttlMs: 30_000, takeOverFrom: () => true });
    expect(taken!.job.checkpoints[0]).toMatchObject({ status: "running", state: { predictionId: "p1" } });
    const before = { job: await store.getJob(jobId), events: await store.readEvents(jobId, 0, 100) };
    const step: StepStart = stepStart(jobId, 1);
    const failure = { stepIndex: 0, candidate: 0, error: "boom", errorClass: "retryable" as const, errorReason: "quota" };
    expect(await store.startStep(fence, step)).toBe(false);
    expect(await store.recordProgress(fence, { jobId, progress: 42, event: progress(0, "stale progress") })).toBe(false);
    expect(await store.saveStepState(fence, { jobId, stepIndex: 0, candidate: 0, state: { predictionId: "stale" } })).toBe(false);
    expect(await store.completeStep(fence, { jobId, stepIndex: 0, candidate: 0, output: { stale: true }, completedAt: new Date(), progress: 50, events: [], next: step })).toBe(false);
    expect(await store.parkJob(fence, { jobId, step: failure, retryCount: 1, nextRetryAt: new Date(), provider: "p", events: [] })).toBe(false);
    expect(await store.failJob(fence, { jobId, step: failure, code: "x", message: "boom", errorClass: "hard", provider: null, events: [] })).toBe(false);
    expect(await store.cancelStep(fence, { jobId, stepIndex: 0, candidate: 0, message: "stop", event: { type: "error", data: { status: "canceled", code: "canceled", error: "stop" } } })).toBe(false);
    await store.releaseLease(jobId, fence);
    expect(await store.getJob(jobId)).toEqual(before.job);
    expect(await store.readEvents(jobId, 0, 100)).toEqual(before.events);
    // The new holder's writes land.
    expect(await store.recordProgress(taken!.fence, { jobId, progress: 42, event: progress(0, "fresh progress") })).toBe(true);
  });

  it("parks a retryable failure: pending_retry until its time, the lease released, the step's state kept", async () => {
    const { jobId, fence } = await runningJob();
    await store.saveStepState(fence, { jobId, stepIndex: 0, candidate: 0, state: { predictionId: "p9" } });
    const nextRetryAt = new Date(Date.now() + 60_000);
    const parked = await store.parkJob(fence, {
      jobId,
      step: { stepIndex: 0, candidate: 0, error: "Quota exceeded", errorClass: "retryable", errorReason: "quota" },
      retryCount: 1,
      nextRetryAt,
      provider: "replicate",
      events: [{ type: "retry_scheduled", data: { step: 0, step_name: "s0", reason: "quota", error: "Quota exceeded", next_retry_at: nextRetryAt.toISOString(), retry_count: 1, max_retries: 3 } }],
    });
    expect(parked).toBe(true);
    const job = await store.getJob(jobId);
    expect(job).toMatchObject({ status: "pending_retry", error: "Quota exceeded", errorCode: "quota", nextRetryAt });
    expect(job!.execution).toMatchObject({ retryCount: 1, lastError: "Quota exceeded", lastErrorClass: "retryable", lastErrorReason: "quota", lastErrorProvider: "replicate" });
    expect(checkpointLayout(job!.checkpoints)["0"]).toMatchObject({ status: "failed_retryable", error: "Quota exceeded", error_class: "retryable", error_reason: "quota", state: { predictionId: "p9" } });
    expect(await store.findDueRetries(new Date(), 100)).not.toContainEqual({ jobId, provider: "replicate" });
    expect(await store.findDueRetries(new Date(Date.now() + 120_000), 100)).toContainEqual({ jobId, provider: "replicate" });
    expect(await store.renewLease(jobId, fence, 1000)).toEqual({ held: false, status: "pending_retry" });
  });

  it("claims a due retry once, even for two sweeps at the same time, and defers one", async () => {
    const { jobId, fence } = await runningJob();
    await store.parkJob(fence, { jobId, step: { stepIndex: 0, candidate: 0, error: "down", errorClass: "retryable", errorReason: "outage" }, retryCount: 1, nextRetryAt: new Date(), provider: null, events: [] });
    const later = new Date(Date.now() + 3_600_000);
    await store.deferRetry(jobId, later);
    expect((await store.getJob(jobId))!.nextRetryAt).toEqual(later);
    const claims = await Promise.all([store.claimRetry(jobId), store.claimRetry(jobId)]);
    expect(claims.filter(Boolean)).toEqual([{ id: jobId, userId, attempts: 1 }]);
    expect(await store.getJob(jobId)).toMatchObject({ status: "queued", nextRetryAt: null });
    // A resumed run of the claimed job begins at its next attempt.
    const leased = await store.leaseRun(jobId, "b", { ttlMs: 30_000 });
    expect(await store.beginRun(leased!.fence, { jobId, from: { status: "queued", attempts: 1 } })).toBe(true);
  });

  it("fails a job inside a run and outside one", async () => {
    const { jobId, fence } = await runningJob();
    expect(
      await store.failJob(fence, {
        jobId,
        step: { stepIndex: 0, candidate: 0, error: "Content rejected", errorClass: "hard", errorReason: "content_rejected" },
        code: "content_rejected",
        message: "Content rejected",
        errorClass: "hard",
        provider: "replicate",
        events: [{ type: "error", data: { status: "failed", code: "content_rejected", error: "Content rejected" } }],
      }),
    ).toBe(true);
    expect(await store.getJob(jobId)).toMatchObject({ status: "failed", errorCode: "content_rejected", execution: { lastErrorClass: "hard", lastErrorProvider: "replicate" } });
    const queued = await store.insertJob(newJob());
    expect(await store.failJob(undefined, { jobId: queued, code: "unknown_workflow", message: "gone", errorClass: "hard", provider: null, events: [] })).toBe(true);
    expect(await store.getJob(queued)).toMatchObject({ status: "failed", errorCode: "unknown_workflow" });
    expect(await store.failJob(undefined, { jobId: queued, code: "again", message: "again", errorClass: "hard", provider: null, events: [] })).toBe(false);
  });

  it("cancels and requeues by compare-and-set; a requeue drops the old holder's lease", async () => {
    const { jobId, fence } = await runningJob();
    const canceled: JobEventInput = { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } };
    expect(await store.cancelJob(jobId, { from: "queued", message: "Canceled by user", event: canceled })).toBe(false);
    expect(await store.cancelJob(jobId, { from: "running", message: "Canceled by user", event: canceled })).toBe(true);
    expect(await store.getJob(jobId)).toMatchObject({ status: "canceled", errorCode: "canceled" });
    // The step notices and records its checkpoint; the job was already canceled, so no second event.
    expect(await store.cancelStep(fence, { jobId, stepIndex: 0, candidate: 0, message: "Canceled by user", event: canceled })).toBe(true);
    expect(checkpointLayout((await store.getJob(jobId))!.checkpoints)["0"]?.status).toBe("canceled");
    expect((await eventTypes(jobId)).filter((type) => type.startsWith("error"))).toHaveLength(1);
    expect(await store.requeueJob(jobId, { from: "canceled", event: progress(0, "Retry requested") })).toBe(true);
    expect(await store.getJob(jobId)).toMatchObject({ status: "queued", error: null, completedAt: null, execution: { retryCount: 0 } });
    expect(await store.renewLease(jobId, fence, 1000)).toMatchObject({ held: false });
    expect(await store.leaseRun(jobId, "next", { ttlMs: 30_000 })).toBeDefined();
  });

  it("finds orphans: queued or running with no lease, an expired one, or a local owner to check", async () => {
    const free = await store.insertJob(newJob());
    const expired = await store.insertJob(newJob());
    await store.leaseRun(expired, "gone:1", { ttlMs: -1 });
    const local = await store.insertJob(newJob());
    await store.leaseRun(local, "thishost:123:abc", { ttlMs: 60_000 });
    const held = await store.insertJob(newJob());
    await store.leaseRun(held, "elsewhere:1", { ttlMs: 60_000 });
    const orphans = await store.findOrphans(new Date(), 1000, "thishost:");
    const ids = orphans.map((orphan) => orphan.jobId);
    expect(ids).toEqual(expect.arrayContaining([free, expired, local]));
    expect(ids).not.toContain(held);
    expect(orphans.find((orphan) => orphan.jobId === local)).toMatchObject({ leaseOwner: "thishost:123:abc", leaseExpiresAt: expect.any(Date) });
  });

  it("reads events after an id, in order, as stored JSON text, and tails new events of all jobs", async () => {
    const before = await store.latestEventId();
    const { jobId, fence } = await runningJob();
    for (let i = 1; i <= 3; i++) await store.recordProgress(fence, { jobId, progress: i, event: progress(0, `p${i}`) });
    const all = await store.readEvents(jobId, 0, 100);
    expect(all.map((event) => event.type)).toEqual(["progress", "progress", "progress", "progress", "progress"]);
    expect(all.map((event) => event.id)).toEqual([...all.map((event) => event.id)].sort((a, b) => a - b));
    expect(JSON.parse(all[2]!.json)).toMatchObject({ message: "p1", step_name: "s0" });
    expect(await store.readEvents(jobId, all[1]!.id, 2)).toEqual(all.slice(2, 4));
    expect(await store.latestEventId()).toBe(all.at(-1)!.id);
    expect((await store.eventsSince(before, 100)).filter((event) => event.jobId === jobId).map((event) => event.id)).toEqual(all.map((event) => event.id));
    expect((await store.getJob(jobId))!.progress).toBe(3);
  });

  it("reads what the Inngest driver needs: queued jobs by age and a job's state", async () => {
    const jobId = await store.insertJob(newJob());
    const now = Date.now();
    expect(await store.findQueuedBetween(new Date(now - 60_000), new Date(now + 60_000), 1000)).toContainEqual({ id: jobId, userId, attempts: 0 });
    expect(await store.findQueuedBetween(new Date(now + 1000), new Date(now + 60_000), 1000)).not.toContainEqual({ id: jobId, userId, attempts: 0 });
    expect(await store.countQueuedBefore(new Date(now + 60_000))).toBeGreaterThanOrEqual(1);
    expect(await store.readQueuedJob(jobId)).toEqual({ id: jobId, userId, attempts: 0 });
    expect(await store.readJobState(jobId)).toEqual({ status: "queued", attempts: 0, result: null, error: null, errorCode: null, nextRetryAt: null });
  });

  it("lets exactly one of two racing runners take a free lease", async () => {
    const jobId = await store.insertJob(newJob());
    const results = await Promise.all(["a", "b", "c", "d"].map((owner) => store.leaseRun(jobId, owner, { ttlMs: 30_000 })));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  describe("idempotency keys", () => {
    const hour = 3_600_000;
    function claim(key: string, overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
      const now = new Date();
      return { userId, key, requestHash: "h1", jobId: null, response: null, now, expiresAt: new Date(now.getTime() + 24 * hour), ...overrides };
    }

    it("inserts a job with its key once: the second insert with the key inserts nothing and reads the first", async () => {
      const key = `k-${randomUUID()}`;
      const jobCount = () => database.prisma.job.count();
      const first = randomUUID();
      const response = { status: 202, body: { job_id: first } };
      expect(await store.insertIdempotentJob({ ...newJob(), id: first }, claim(key, { jobId: first, response }))).toEqual({ jobId: first });
      const before = await jobCount();
      const second = await store.insertIdempotentJob({ ...newJob(), id: randomUUID() }, claim(key, { requestHash: "h2", jobId: null, response: { status: 202, body: {} } }));
      expect(second).toEqual({ existing: expect.objectContaining({ key, requestHash: "h1", jobId: first, response }) });
      expect(await jobCount()).toBe(before);
      expect(await store.getJob(first)).toMatchObject({ id: first, status: "queued" });
    });

    it("lets exactly one of racing inserts with one key create its job", async () => {
      const key = `race-${randomUUID()}`;
      const ids = Array.from({ length: 6 }, () => randomUUID());
      const results = await Promise.all(ids.map((id) => store.insertIdempotentJob({ ...newJob(), id }, claim(key, { jobId: id, response: { status: 202, body: { id } } }))));
      const created = results.filter((result) => "jobId" in result);
      expect(created).toHaveLength(1);
      const winner = (created[0] as { jobId: string }).jobId;
      for (const result of results) if ("existing" in result) expect(result.existing.jobId).toBe(winner);
      const made = await Promise.all(ids.map((id) => store.getJob(id)));
      expect(made.filter(Boolean).map((job) => job!.id)).toEqual([winner]);
    });

    it("takes an expired key again, and deletes expired keys in batches", async () => {
      const key = `old-${randomUUID()}`;
      const past = new Date(Date.now() - 25 * hour);
      expect(await store.claimIdempotencyKey(claim(key, { now: past, expiresAt: new Date(past.getTime() + 24 * hour), requestHash: "old" }))).toBeUndefined();
      expect(await store.claimIdempotencyKey(claim(key, { requestHash: "new" }))).toBeUndefined();
      expect(await store.claimIdempotencyKey(claim(key, { requestHash: "third" }))).toMatchObject({ requestHash: "new", response: null });
      const stale = [`s1-${randomUUID()}`, `s2-${randomUUID()}`, `s3-${randomUUID()}`];
      for (const k of stale) await store.claimIdempotencyKey(claim(k, { now: past, expiresAt: new Date(past.getTime() + 1000) }));
      let deleted = 0;
      for (let n = await store.deleteExpiredIdempotencyKeys(new Date(), 2); n > 0; n = await store.deleteExpiredIdempotencyKeys(new Date(), 2)) {
        expect(n).toBeLessThanOrEqual(2);
        deleted += n;
      }
      expect(deleted).toBeGreaterThanOrEqual(3);
      for (const k of stale) expect(await store.claimIdempotencyKey(claim(k))).toBeUndefined();
      expect(await store.claimIdempotencyKey(claim(key, { requestHash: "fourth" }))).toMatchObject({ requestHash: "new" });
    });

    it("keeps a claimed key's answer once, and frees a key only while it has none", async () => {
      const key = `c-${randomUUID()}`;
      expect(await store.claimIdempotencyKey(claim(key, { jobId: "j1" }))).toBeUndefined();
      await store.completeIdempotencyKey(userId, key, { status: 200, body: { ok: 1 } });
      await store.completeIdempotencyKey(userId, key, { status: 500, body: { ok: 2 } });
      await store.releaseIdempotencyKey(userId, key);
      expect(await store.claimIdempotencyKey(claim(key))).toMatchObject({ jobId: "j1", response: { status: 200, body: { ok: 1 } } });
      const freed = `f-${randomUUID()}`;
      await store.claimIdempotencyKey(claim(freed));
      await store.releaseIdempotencyKey(userId, freed);
      expect(await store.claimIdempotencyKey(claim(freed, { requestHash: "again" }))).toBeUndefined();
      // Keys are per user: another user's same key is a key of its own.
      const other = (await database.prisma.user.create({ data: { email: `idem-${provider}-${randomUUID()}@example.com` } })).id;
      expect(await store.claimIdempotencyKey(claim(key, { userId: other }))).toBeUndefined();
    });
  });

  describe("outgoing webhooks", () => {
    const hook = (events: string[]) => ({ url: "https://hooks.example.com/montage", events });

    it("writes a message with every event the job's webhook wants, in the event's own commit, from the first event on", async () => {
      const jobId = await store.insertJob(newJob({ webhook: hook(["progress", "complete"]) }));
      const leased = await store.leaseRun(jobId, "a", { ttlMs: 30_000 });
      await store.beginRun(leased!.fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) });
      await store.completeStep(leased!.fence, {
        jobId,
        stepIndex: 0,
        candidate: 0,
        output: {},
        completedAt: new Date(),
        progress: 100,
        events: [{ type: "checkpoint", data: { step: 0, step_name: "s0", status: "completed" } }, { type: "complete", data: { result: { ok: true } } }],
        result: { ok: true },
      });
      const events = await store.readEvents(jobId, 0, 100);
      const webhooks = await store.readJobWebhooks(jobId);
      expect(webhooks).toMatchObject({ url: "https://hooks.example.com/montage", events: ["progress", "complete"] });
      const wanted = events.filter((event) => event.type !== "checkpoint");
      expect(webhooks!.messages.map((m) => [m.id, m.eventId, m.eventType, m.status, m.attempts])).toEqual(wanted.map((event) => [`msg_${event.id}`, event.id, event.type, "pending", 0]));
      // A job without a webhook has no messages, and reads none.
      const plain = await store.insertJob(newJob());
      expect(await store.readJobWebhooks(plain)).toBeUndefined();
    });

    it("offers only the oldest pending message of each job, claims it once, and records attempts until delivered", async () => {
      const jobId = await store.insertJob(newJob({ webhook: hook(["progress"]) }));
      const { fence } = (await store.leaseRun(jobId, "a", { ttlMs: 30_000 }))!;
      await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: stepStart(jobId, 0) });
      const [first, second] = (await store.readJobWebhooks(jobId))!.messages;
      const now = new Date(Date.now() + 1000);
      let due = await store.findDueWebhookMessages(now, 1000);
      expect(due).toContain(first!.id);
      expect(due).not.toContain(second!.id);
      const claims = await Promise.all([1, 2, 3].map(() => store.claimWebhookMessage(first!.id, now, new Date(now.getTime() + 60_000))));
      expect(claims.filter(Boolean)).toHaveLength(1);
      expect(await store.findDueWebhookMessages(now, 1000)).not.toContain(first!.id);
      const sending = await store.readWebhookMessage(first!.id);
      expect(sending).toMatchObject({ id: first!.id, jobId, userId, eventType: "progress", url: "https://hooks.example.com/montage", attempts: 0 });
      expect(JSON.parse(sending!.eventJson)).toMatchObject({ message: "Queued" });
      const retryAt = new Date(now.getTime() + 5000);
      await store.recordWebhookAttempt(first!.id, { attempt: 1, at: now, statusCode: 500, error: "Answered 500", durationMs: 12 }, { status: "pending", nextAttemptAt: retryAt });
      expect(await store.nextWebhookAttemptAt()).toBeInstanceOf(Date);
      expect(await store.findDueWebhookMessages(now, 1000)).not.toContain(first!.id);
      due = await store.findDueWebhookMessages(new Date(retryAt.getTime() + 1), 1000);
      expect(due).toContain(first!.id);
      expect(due).not.toContain(second!.id);
      expect(await store.claimWebhookMessage(first!.id, retryAt, new Date(retryAt.getTime() + 60_000))).toBe(true);
      await store.recordWebhookAttempt(first!.id, { attempt: 2, at: retryAt, statusCode: 204, error: null, durationMs: 3 }, { status: "delivered", at: retryAt });
      expect(await store.findDueWebhookMessages(new Date(retryAt.getTime() + 1), 1000)).toContain(second!.id);
      const after = (await store.readJobWebhooks(jobId))!.messages[0]!;
      expect(after).toMatchObject({ status: "delivered", attempts: 2, lastStatus: 204, nextAttemptAt: null, deliveredAt: retryAt });
      expect(after.tries).toEqual([
        { attempt: 1, at: now, statusCode: 500, error: "Answered 500", durationMs: 12 },
        { attempt: 2, at: retryAt, statusCode: 204, error: null, durationMs: 3 },
      ]);
      // A message that is no longer pending is not claimed again.
      expect(await store.claimWebhookMessage(first!.id, new Date(Date.now() + 3_600_000), new Date(Date.now() + 7_200_000))).toBe(false);
    });

    it("keeps one secret per user until it is rotated", async () => {
      const owner = (await database.prisma.user.create({ data: { email: `secret-${provider}-${randomUUID()}@example.com` } })).id;
      const first = await store.webhookSecret(owner, () => "whsec_first");
      expect(first).toBe("whsec_first");
      expect(await store.webhookSecret(owner, () => "whsec_second")).toBe("whsec_first");
      await store.rotateWebhookSecret(owner, "whsec_rotated");
      expect(await store.webhookSecret(owner, () => "whsec_third")).toBe("whsec_rotated");
    });
  });

  it("finds a user's job ids by status, workflow, creation time and ids, oldest first, a page at a time", async () => {
    const owner = (await database.prisma.user.create({ data: { email: `finder-${provider}-${randomUUID()}@example.com` } })).id;
    const start = new Date(Date.now() - 1000);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.insertJob(newJob({ userId: owner, workflow: { id: i < 3 ? "wf-a" : "wf-b", version: "v1", config: {} } })));
    await store.insertJob(newJob());
    const all = { statuses: ["queued"] };
    const first = await store.findJobIds(owner, all, 2);
    const second = await store.findJobIds(owner, all, 2, first.at(-1));
    const third = await store.findJobIds(owner, all, 2, second.at(-1));
    expect([...first, ...second, ...third].map((job) => job.id).sort()).toEqual([...ids].sort());
    expect(third).toHaveLength(1);
    const times = [...first, ...second, ...third].map((job) => job.createdAt.getTime());
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect((await store.findJobIds(owner, { ...all, workflowId: "wf-b" }, 10)).map((job) => job.id).sort()).toEqual(ids.slice(3).sort());
    expect(await store.findJobIds(owner, { statuses: ["running"] }, 10)).toEqual([]);
    expect(await store.findJobIds(owner, { ...all, createdBefore: start }, 10)).toEqual([]);
    expect(await store.findJobIds(owner, { ...all, createdAfter: new Date(Date.now() + 60_000) }, 10)).toEqual([]);
    expect((await store.findJobIds(owner, { ...all, jobIds: [ids[1]!, ids[4]!] }, 10)).map((job) => job.id).sort()).toEqual([ids[1], ids[4]].sort());
  });

  describe("place in line, ETA and timeline", () => {
    const at = (seconds: number) => new Date(Date.UTC(2026, 11, 1, 12, 0, seconds));

    /** A job of `workflowId` whose step 0 ran from `start` to `end` (seconds past noon), then step 1 started. */
    async function ranStep(workflowId: string, start: number, end: number, complete = true): Promise<string> {
      const jobId = await store.insertJob(newJob({ workflow: { id: workflowId, version: "v1", config: {} } }));
      const { fence } = (await store.leaseRun(jobId, "runner-d", { ttlMs: 30_000 }))!;
      await store.beginRun(fence, { jobId, from: { status: "queued", attempts: 0 }, step: { ...stepStart(jobId, 0), startedAt: at(start) } });
      if (complete) await store.completeStep(fence, { jobId, stepIndex: 0, candidate: 0, output: {}, completedAt: at(end), progress: 50, events: [], next: { ...stepStart(jobId, 1), startedAt: at(end) } });
      return jobId;
    }

    it("reads the waiting jobs an announcement names, leaving out missing ones", async () => {
      const queued = await store.insertJob(newJob({ workflow: { id: "wf-wait", version: "v1", config: {} } }));
      const { jobId: running } = await runningJob();
      const rows = await store.readWaitingJobs([queued, running, "no-such-job"]);
      expect(rows.sort((a, b) => (a.id === queued ? -1 : b.id === queued ? 1 : 0))).toEqual([
        { id: queued, userId, workflowId: "wf-wait", status: "queued", currentStep: 0, progress: 0 },
        { id: running, userId, workflowId: "wf", status: "running", currentStep: 0, progress: 0 },
      ]);
      expect(await store.readWaitingJobs([])).toEqual([]);
    });

    it("reads a workflow's most recent completed step runs, a number per step, newest first, without a rerun's copied steps", async () => {
      const workflowId = `wf-durations-${randomUUID()}`;
      await ranStep(workflowId, 0, 1);
      await ranStep(workflowId, 10, 12);
      await ranStep(workflowId, 20, 23);
      // Still running (no completed_at), and another workflow's run: neither counts.
      await ranStep(workflowId, 30, 0, false);
      await ranStep(`${workflowId}-other`, 40, 49);
      // A rerun's copied step took its parent's time, not a run of its own.
      await store.insertJob(
        newJob({
          workflow: { id: workflowId, version: "v1", config: {} },
          rerun: { parentJobId: await ranStep(workflowId, 50, 51), fromStep: 1, progress: 50, checkpoints: [{ stepIndex: 0, candidate: 0, output: {}, startedAt: at(0), completedAt: at(59) }], copiedEvents: [] },
        }),
      );
      expect(await store.readStepDurations(workflowId, 50)).toEqual([
        { stepIndex: 0, ms: 1000 },
        { stepIndex: 0, ms: 3000 },
        { stepIndex: 0, ms: 2000 },
        { stepIndex: 0, ms: 1000 },
      ]);
      expect(await store.readStepDurations(workflowId, 2)).toEqual([
        { stepIndex: 0, ms: 1000 },
        { stepIndex: 0, ms: 3000 },
      ]);
      expect(await store.readStepDurations("no-such-workflow", 50)).toEqual([]);
    });

    it("reads the events that change a job's state with their times, not the progress reports within a step", async () => {
      const before = Date.now() - 1000;
      const { jobId, fence } = await runningJob();
      await store.recordProgress(fence, { jobId, progress: 5, event: { type: "progress", data: { step: 0, step_name: "s0", progress: 5, step_progress: 50 } } });
      await store.completeStep(fence, {
        jobId,
        stepIndex: 0,
        candidate: 0,
        output: {},
        completedAt: new Date(),
        progress: 50,
        events: [
          { type: "progress", data: { step: 0, step_name: "s0", progress: 50, step_progress: 100 } },
          { type: "checkpoint", data: { step: 0, step_name: "s0", status: "completed", output: {} } },
        ],
        next: stepStart(jobId, 1),
      });
      const events = await store.readTimelineEvents(jobId, 100);
      expect(events.map((event) => [event.type, event.data.message ?? event.data.status])).toEqual([
        ["progress", "Queued"],
        ["progress", "start 0"],
        ["checkpoint", "completed"],
        ["progress", "start 1"],
      ]);
      expect(events.map((event) => event.id)).toEqual([...events.map((event) => event.id)].sort((a, b) => a - b));
      for (const event of events) expect(event.at.getTime()).toBeGreaterThanOrEqual(before);
      expect(await store.readTimelineEvents(jobId, 2)).toEqual(events.slice(0, 2));
    });

    it("places a queued job among all queued jobs by the time they were queued, ties by id", async () => {
      const ids = [await store.insertJob(newJob()), await store.insertJob(newJob()), await store.insertJob(newJob())];
      const places = await Promise.all(ids.map((jobId) => store.queuedPlace(jobId)));
      // Jobs queued earlier in this suite come first; these three take the next places, in some order.
      const first = Math.min(...places.map(Number));
      expect(places.map(Number).sort((a, b) => a - b)).toEqual([first, first + 1, first + 2]);
      const { jobId: running } = await runningJob();
      expect(await store.queuedPlace(running)).toBeUndefined();
      expect(await store.queuedPlace("no-such-job")).toBeUndefined();
      // A job that leaves the line moves the ones after it up.
      const firstId = ids[places.indexOf(first)]!;
      const lastId = ids[places.indexOf(first + 2)]!;
      await store.cancelJob(firstId, { from: "queued", message: "x", event: { type: "error", data: { status: "canceled", code: "canceled", error: "x" } } });
      expect(await store.queuedPlace(lastId)).toBe(first + 1);
    });

    it("announces places in line in one transaction, each only while its job is queued", async () => {
      const queued = await store.insertJob(newJob());
      const announcement = (place: number): JobEventInput => ({
        type: "progress",
        data: { step: 0, step_name: "s0", progress: 0, step_progress: 0, message: "Queued", queue_position: place, eta_seconds: 40 * place, eta_basis: "defaults" },
      });
      const { jobId: running } = await runningJob();
      expect(
        await store.announceQueued([
          { jobId: queued, event: announcement(2) },
          { jobId: running, event: announcement(3) },
          { jobId: "no-such-job", event: announcement(4) },
        ]),
      ).toEqual([true, false, false]);
      const events = await store.readEvents(queued, 0, 10);
      expect(JSON.parse(events.at(-1)!.json)).toEqual(announcement(2).data);
      // Announcing is not a change of the job: its time in line (updated_at) stays.
      const job = await store.getJob(queued);
      expect(job!.updatedAt.getTime()).toBe(job!.createdAt.getTime());
      expect(await eventTypes(running)).toEqual(["progress:Queued", "progress:start 0"]);
      expect(await store.announceQueued([])).toEqual([]);
    });
  });

  describe("deadlines", () => {
    const expiredEvent = { type: "error", data: { status: "failed", code: "deadline_exceeded", error: "Too late" } } as const;

    it("keeps a job's deadline, reads it with the run, and renews it on a requeue", async () => {
      const deadlineAt = new Date(Date.now() + 60_000);
      const jobId = await store.insertJob(newJob({ deadlineAt }));
      expect((await store.getJob(jobId))!.deadlineAt).toEqual(deadlineAt);
      const leased = await store.leaseRun(jobId, "deadline-runner", { ttlMs: 30_000 });
      expect(leased!.job.deadlineAt).toEqual(deadlineAt);
      expect((await store.getJob(await store.insertJob(newJob())))!.deadlineAt).toBeNull();
      await store.cancelJob(jobId, { from: "queued", message: "Canceled by user", event: { type: "error", data: { status: "canceled", code: "canceled", error: "Canceled by user" } } });
      const renewed = new Date(Date.now() + 120_000);
      expect(await store.requeueJob(jobId, { from: "canceled", event: progress(0, "Retry requested"), deadlineAt: renewed })).toBe(true);
      expect((await store.getJob(jobId))!.deadlineAt).toEqual(renewed);
    });

    it("finds waiting jobs past their deadline (queued, parked, awaiting approval), never running or ended ones, and fails each once", async () => {
      const past = new Date(Date.now() - 1000);
      const queued = await store.insertJob(newJob({ deadlineAt: past }));
      const future = await store.insertJob(newJob({ deadlineAt: new Date(Date.now() + 3_600_000) }));
      const none = await store.insertJob(newJob());
      const { jobId: parked, fence } = await runningJob();
      await store.parkJob(fence, { jobId: parked, step: { stepIndex: 0, candidate: 0, error: "down", errorClass: "retryable", errorReason: "outage" }, retryCount: 1, nextRetryAt: new Date(Date.now() + 60_000), provider: null, events: [] });
      const running = await store.insertJob(newJob({ deadlineAt: past }));
      const leased = await store.leaseRun(running, "r", { ttlMs: 30_000 });
      await store.beginRun(leased!.fence, { jobId: running, from: { status: "queued", attempts: 0 } });
      // The parked job's deadline, set as execute would have: it is not a column a run writes.
      const parkedWithDeadline = await store.insertJob(newJob({ deadlineAt: past }));
      const leasedParked = await store.leaseRun(parkedWithDeadline, "p", { ttlMs: 30_000 });
      await store.beginRun(leasedParked!.fence, { jobId: parkedWithDeadline, from: { status: "queued", attempts: 0 }, step: stepStart(parkedWithDeadline, 0) });
      await store.parkJob(leasedParked!.fence, { jobId: parkedWithDeadline, step: { stepIndex: 0, candidate: 0, error: "down", errorClass: "retryable", errorReason: "outage" }, retryCount: 1, nextRetryAt: new Date(Date.now() + 60_000), provider: null, events: [] });

      const found = await store.findExpiredDeadlines(new Date(), 1000);
      expect(found).toEqual(expect.arrayContaining([queued, parkedWithDeadline]));
      for (const id of [future, none, parked, running]) expect(found).not.toContain(id);

      const results = await Promise.all([store.expireDeadline(queued, { message: "Too late", event: expiredEvent }), store.expireDeadline(queued, { message: "Too late", event: expiredEvent })]);
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await store.expireDeadline(parkedWithDeadline, { message: "Too late", event: expiredEvent })).toBe(true);
      expect(await store.expireDeadline(running, { message: "Too late", event: expiredEvent })).toBe(false);
      for (const id of [queued, parkedWithDeadline]) {
        const job = await store.getJob(id);
        expect(job).toMatchObject({ status: "failed", errorCode: "deadline_exceeded", error: "Too late", nextRetryAt: null, execution: { lastErrorReason: "deadline_exceeded" } });
        expect((await eventTypes(id)).filter((type) => type.startsWith("error"))).toHaveLength(1);
      }
      expect(await store.findDueRetries(new Date(Date.now() + 120_000), 1000)).not.toContainEqual(expect.objectContaining({ jobId: parkedWithDeadline }));
      expect(await store.findExpiredDeadlines(new Date(), 1000)).not.toEqual(expect.arrayContaining([queued]));
    });
  });

  it("finds an API token's user by the token's hash, marks its use at most once per resolution, and never for a revoked token", async () => {
    const user = await database.prisma.user.create({ data: { email: `token-${provider}-${randomUUID()}@example.com`, name: "Tess" } });
    const tokenHash = randomUUID().replaceAll("-", "").repeat(2);
    const token = await database.prisma.apiToken.create({ data: { userId: user.id, name: "ci", prefix: "mtg_abcdefgh", tokenHash } });
    const lastUsed = async () => (await database.prisma.apiToken.findUniqueOrThrow({ where: { id: token.id } })).lastUsedAt?.getTime() ?? null;
    const t0 = new Date("2026-12-03T10:00:00.000Z");

    expect(await store.findTokenUser(tokenHash, t0, 60_000)).toEqual({ id: user.id, email: user.email, name: "Tess" });
    expect(await lastUsed()).toBe(t0.getTime());
    // Within the resolution: read, not written.
    expect(await store.findTokenUser(tokenHash, new Date(t0.getTime() + 59_000), 60_000)).toMatchObject({ id: user.id });
    expect(await lastUsed()).toBe(t0.getTime());
    const later = new Date(t0.getTime() + 61_000);
    expect(await store.findTokenUser(tokenHash, later, 60_000)).toMatchObject({ id: user.id });
    expect(await lastUsed()).toBe(later.getTime());

    expect(await store.findTokenUser("0".repeat(64), later, 60_000)).toBeUndefined();
    await database.prisma.apiToken.update({ where: { id: token.id }, data: { revokedAt: new Date() } });
    expect(await store.findTokenUser(tokenHash, new Date(later.getTime() + 120_000), 60_000)).toBeUndefined();
    expect(await lastUsed()).toBe(later.getTime());
  });

  it("reads a user by id for the web session, and nothing for an unknown or deleted one", async () => {
    const user = await database.prisma.user.create({ data: { email: `session-${provider}-${randomUUID()}@example.com` } });
    expect(await store.readUser(user.id)).toEqual({ id: user.id, email: user.email, name: null });
    expect(await store.readUser(randomUUID())).toBeUndefined();
    await database.prisma.user.delete({ where: { id: user.id } });
    expect(await store.readUser(user.id)).toBeUndefined();
  });

  it("reads a user by email with the password hash sign-in checks, null for one without a password", async () => {
    const email = `password-${provider}-${randomUUID()}@example.com`;
    const withPassword = await database.prisma.user.create({ data: { email, name: "Pat", passwordHash: "scrypt$hash" } });
    expect(await store.findPasswordUser(email)).toEqual({ id: withPassword.id, email, name: "Pat", passwordHash: "scrypt$hash" });
    const tokenOnly = await database.prisma.user.create({ data: { email: `token-only-${provider}-${randomUUID()}@example.com` } });
    expect(await store.findPasswordUser(tokenOnly.email)).toEqual({ id: tokenOnly.id, email: tokenOnly.email, name: null, passwordHash: null });
    expect(await store.findPasswordUser(`nobody-${provider}@example.com`)).toBeUndefined();
  });
});
