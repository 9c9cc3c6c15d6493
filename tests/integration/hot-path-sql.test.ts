import { hostname } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import type { Db } from "@/lib/db/client";
import type { NewJobRecord } from "@/lib/jobs/insert";
import type { Workflow } from "@/lib/workflows/definition";

/**
 * The SQL that every run goes through (job insert, lease with job load) on real databases: it
 * writes exactly the rows Prisma's models would write, all or nothing, and the lease keeps its
 * rules (free, expired, ours, or a dead local owner's; never a live owner's).
 */
describe.each<Provider>(["sqlite", "postgresql"])("hot-path SQL on %s", (provider) => {
  let database: TestDatabase;
  let m: Awaited<ReturnType<typeof load>>;
  let userId: string;

  async function load() {
    return {
      client: await import("@/lib/db/client"),
      databaseUrl: await import("@/lib/db/database-url"),
      insert: await import("@/lib/jobs/insert"),
      executor: await import("@/lib/engine/executor"),
      lease: await import("@/lib/engine/lease"),
      runner: await import("@/lib/engine/in-process-runner"),
      providers: await import("@/lib/providers"),
      log: (await import("@/lib/log")).log,
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database);
    m = await load();
    userId = (await m.client.db().user.create({ data: { email: `hot-path-${provider}@example.com` } })).id;
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  const record = (overrides: Partial<NewJobRecord> = {}): NewJobRecord => ({
    userId,
    workflowId: "img-edit-to-video",
    inputs: { prompt: "a red fox, \"quoted\" ✓", strength: "0.8" },
    maxRetries: 4,
    firstEvent: { type: "progress", data: { step: 0, step_name: "upload", progress: 0, step_progress: 0, message: "Queued" } },
    upload: { filename: "fox.jpg", contentType: "image/jpeg", data: Buffer.from([0xff, 0xd8, 0x00, 0x01, 0xfe, 0xff, 0xd9]), width: 640, height: 480 },
    ...overrides,
  });

  /** Everything Prisma reads back of a job, without the values that differ between two inserts (ids, times). */
  async function readBack(db: Db, jobId: string) {
    const job = await db.job.findUniqueOrThrow({ where: { id: jobId }, include: { execution: true, upload: true, events: true } });
    const { id, createdAt, updatedAt, execution, upload, events, ...jobFields } = job;
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    for (const date of [createdAt, updatedAt, execution!.createdAt, execution!.updatedAt, upload?.createdAt ?? createdAt, ...events.map((e) => e.createdAt)]) {
      expect(Math.abs(date.getTime() - Date.now())).toBeLessThan(60_000);
    }
    return {
      job: jobFields,
      execution: { ...execution!, id: undefined, jobId: undefined, createdAt: undefined, updatedAt: undefined },
      upload: upload && { ...upload, id: undefined, jobId: undefined, createdAt: undefined, data: Buffer.from(upload.data).toString("hex") },
      events: events.map((e) => ({ type: e.type, data: e.data })),
    };
  }

  function freshClient(): Db {
    return m.client.createDb(m.databaseUrl.resolveDatabase(database.url, database.dataDir));
  }

  it("inserts the same rows through its SQL as through Prisma's models, with and without an upload", async () => {
    // A client that has not connected yet has no direct connection: insertJob goes through Prisma.
    for (const upload of [true, false]) {
      const fresh = freshClient();
      expect(m.client.onSqliteConnection(fresh, () => 1)).toBeUndefined();
      expect(m.client.onPostgresPool(fresh, "SELECT 1", [])).toBeUndefined();
      const input = upload ? record() : record({ upload: undefined });
      const viaModels = await m.insert.insertJob(fresh, input);
      const viaSql = await m.insert.insertJob(fresh, input);
      if (provider === "sqlite") {
        // The pragmas were set as the connection opened, although its first query was a transaction.
        const pragmas = await m.client.onSqliteConnection(fresh, (c) => [c.prepare("PRAGMA journal_mode").get(), c.prepare("PRAGMA synchronous").get()]);
        expect(pragmas).toEqual([{ journal_mode: "wal" }, { synchronous: 1n }]);
      }
      expect(await (m.client.onSqliteConnection(fresh, () => "direct") ?? m.client.onPostgresPool(fresh, "SELECT 1", [])?.then(() => "direct"))).toBe("direct");
      const [models, sql] = [await readBack(fresh, viaModels), await readBack(fresh, viaSql)];
      expect(sql).toEqual(models);
      expect(sql.job).toMatchObject({ status: "queued", progress: 0, attempts: 0, userId, inputs: input.inputs });
      expect(sql.execution).toMatchObject({ currentStep: 0, checkpoints: {}, retryCount: 0, maxRetries: 4, leaseOwner: null });
      expect(sql.upload).toEqual(upload ? expect.objectContaining({ size: 7, data: "ffd80001feffd9", filename: "fox.jpg" }) : null);
      expect(sql.events).toEqual([input.firstEvent]);
      await fresh.$disconnect();
    }
  });

  it("writes nothing when any row is refused", async () => {
    const db = m.client.db();
    await db.user.count(); // connected: the SQL path
    const counts = () => Promise.all([db.job.count(), db.workflowExecution.count(), db.jobEvent.count(), db.upload.count()]);
    const before = await counts();
    // The upload is written after the job and its execution: its refusal must take them back too.
    const badUpload = { ...record().upload!, filename: null as unknown as string };
    await expect(m.insert.insertJob(db, record({ upload: badUpload }))).rejects.toThrow();
    await expect(m.insert.insertJob(db, record({ userId: "no-such-user" }))).rejects.toThrow();
    expect(await counts()).toEqual(before);
  });

  it("takes a free, expired, own or dead owner's lease with the job's row, and never a live owner's", async () => {
    const db = m.client.db();
    const jobId = await m.insert.insertJob(db, record());
    const lease = () => db.workflowExecution.findUniqueOrThrow({ where: { jobId }, select: { leaseOwner: true, leaseExpiresAt: true } });
    const setOwner = (leaseOwner: string, leaseExpiresAt: Date) => db.workflowExecution.update({ where: { jobId }, data: { leaseOwner, leaseExpiresAt } });

    // The one-statement path itself: a free lease is taken and the row comes back with it.
    expect(await m.lease.takeFreeLeaseReading(db, jobId, "me:0:z", 30_000, "e.lease_owner AS owner, j.status AS status")).toEqual({ owner: "me:0:z", status: "queued" });
    await setOwner("elsewhere:1:b", new Date(Date.now() + 60_000));
    expect(await m.lease.takeFreeLeaseReading(db, jobId, "me:0:z", 30_000, "e.lease_owner AS owner")).toBeUndefined();
    await db.workflowExecution.update({ where: { jobId }, data: { leaseOwner: null, leaseExpiresAt: null } });

    const loaded = await m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000);
    expect(loaded).toEqual({ status: "queued", workflowId: "img-edit-to-video", userId, inputs: record().inputs, checkpoints: {}, retryCount: 0, maxRetries: 4 });
    expect((await lease()).leaseOwner).toBe("me:1:a");
    expect(await m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000)).toEqual(loaded);

    const live = new Date(Date.now() + 60_000);
    await setOwner("elsewhere:1:b", live);
    expect(await m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000)).toBeUndefined();
    expect(await lease()).toEqual({ leaseOwner: "elsewhere:1:b", leaseExpiresAt: live });

    await setOwner("elsewhere:1:b", new Date(Date.now() - 1_000));
    expect(await m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000)).toEqual(loaded);
    expect((await lease()).leaseOwner).toBe("me:1:a");

    // A process of this host that no longer exists (pids stay below 2^22 on Linux).
    await setOwner(`${hostname()}:4194304:c`, live);
    expect(await m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000)).toEqual(loaded);
    expect((await lease()).leaseOwner).toBe("me:1:a");

    expect(await m.executor.leaseAndLoadJob(db, "no-such-job", "me:1:a", 30_000)).toBeUndefined();

    if (provider === "sqlite") {
      // A row that cannot be read (here: inputs that are not JSON) fails the call and gives the lease back.
      await db.workflowExecution.update({ where: { jobId }, data: { leaseOwner: null, leaseExpiresAt: null } });
      await db.$executeRawUnsafe("UPDATE jobs SET inputs = '{not json' WHERE id = ?", jobId);
      await expect(m.executor.leaseAndLoadJob(db, jobId, "me:1:a", 30_000)).rejects.toThrow(SyntaxError);
      expect((await lease()).leaseOwner).toBeNull();
    }
  });

  it("run() resolves with the run's outcome, once per job however often it is asked", async () => {
    const db = m.client.db();
    let calls = 0;
    const workflow: Workflow = {
      config: { id: "hot-path-run", name: "run", description: "", icon: "🧪", steps: [{ name: "only", type: "noop", label: "only" }], inputs: [] },
      handlers: { only: async () => ({ n: ++calls }) },
    };
    const runner = new m.runner.InProcessRunner({
      database: db,
      providers: m.providers.providers(),
      checkHealth: async () => ({ healthy: true }),
      concurrency: 1,
      leaseMs: 30_000,
      sweepIntervalMs: 3_600_000,
      sweepBatch: 10,
      retryBaseSeconds: 1,
      maxRetries: 3,
      logger: m.log,
      findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined),
    });
    const [first, second] = await Promise.all(
      [1, 2].map(() => m.insert.insertJob(db, record({ workflowId: workflow.config.id, upload: undefined }))),
    );
    const runs = [runner.run(first!), runner.run(first!), runner.run(second!)];
    expect(runs[1]).toBe(runs[0]);
    const outcomes = await Promise.all(runs);
    expect(outcomes.map((o) => o?.status)).toEqual(["completed", "completed", "completed"]);
    expect(calls).toBe(2);
    expect(await runner.run(first!)).toEqual({ status: "skipped", why: "job is completed" });

    // Waiting jobs of a stopped runner resolve undefined: they were not run here.
    const [third, fourth] = await Promise.all([1, 2].map(() => m.insert.insertJob(db, record({ workflowId: workflow.config.id, upload: undefined }))));
    const running = runner.run(third!);
    const waiting = runner.run(fourth!);
    await runner.stop();
    expect(await waiting).toBeUndefined();
    expect((await running)?.status).toBe("interrupted");
    expect(await runner.run(fourth!)).toBeUndefined();
  });
});
