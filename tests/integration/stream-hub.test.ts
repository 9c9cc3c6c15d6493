import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { StreamHub, type StreamSink } from "@/lib/jobs/stream-hub";
import type { Runtime } from "@/lib/server/runtime";
import type { Store } from "@/lib/store/types";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { insertTestJob, testWorkflow } from "../helpers/engine";

/**
 * The live path of the event streams (lib/jobs/stream-hub.ts), on both databases: watchers of one
 * job share each read and each encoded event, a late watcher replays what it missed before it
 * joins the live writes, a watcher that cannot keep up is dropped (and can come back with
 * Last-Event-ID), and every watcher ends when the job has ended and every event was sent.
 */
describe.each<Provider>(["sqlite", "postgresql"])("the stream hub on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let userId: string;
  let reads = 0;
  let hub: StreamHub;

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    rt = await useTestEnvironment(database);
    userId = (await rt.prisma.user.create({ data: { email: `hub-${provider}@example.com` } })).id;
    // The real store, with its event reads counted.
    const counted: Store = Object.create(rt.store) as Store;
    counted.readEvents = (...args) => {
      reads++;
      return rt.store.readEvents(...args);
    };
    hub = new StreamHub({ store: counted, notifier: rt.notifier, wakeups: rt.wakeups, maxBufferedBytes: 300 });
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  const workflow = testWorkflow("watched", { upload: async () => ({}) });
  const newJob = () => insertTestJob(rt.store, workflow, userId);

  /**
   * Writes an event as the engine does (its own commit, with the job's new status when it ends
   * the job), and wakes this process's streams.
   */
  async function addEvent(jobId: string, n: number, type = "progress", status?: string): Promise<void> {
    const insert =
      provider === "postgresql"
        ? rt.prisma.$executeRawUnsafe(`INSERT INTO job_events (job_id, type, data) VALUES ($1, $2, $3::jsonb)`, jobId, type, JSON.stringify({ n }))
        : rt.prisma.$executeRawUnsafe(`INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, ?, ?, ?)`, jobId, type, JSON.stringify({ n }), new Date().toISOString());
    if (status) await rt.prisma.$transaction([insert, rt.prisma.job.update({ where: { id: jobId }, data: { status } })]);
    else await insert;
    rt.notifier.notify(jobId);
  }

  /** A client that takes everything at once (or nothing at all: `stuck`). */
  function client(stuck = false) {
    const chunks: Uint8Array[] = [];
    let buffered = 0;
    const ended: string[] = [];
    const sink: StreamSink = {
      write: (chunk) => {
        chunks.push(chunk);
        if (stuck) buffered += chunk.byteLength;
      },
      buffered: () => buffered,
      drained: () => Promise.resolve(),
      end: (reason) => void ended.push(reason),
    };
    const text = () => chunks.map((chunk) => new TextDecoder().decode(chunk)).join("");
    return {
      sink,
      chunks,
      ended,
      ids: () => [...text().matchAll(/^id: (\d+)$/gm)].map((match) => Number(match[1])),
      ns: () => [...text().matchAll(/^data: (.*)$/gm)].map((match) => (JSON.parse(match[1]!) as { n?: number }).n ?? "queued"),
    };
  }

  it("reads each event once for all the watchers of a job, and writes them the same bytes", async () => {
    const jobId = await newJob();
    const clients = Array.from({ length: 50 }, () => client());
    const detaches = clients.map((c) => hub.attach(jobId, 0, c.sink));
    await vi.waitFor(() => expect(clients.every((c) => c.ns().length === 1)).toBe(true));
    const before = reads;
    for (let n = 1; n <= 3; n++) {
      await addEvent(jobId, n);
      await vi.waitFor(() => expect(clients.every((c) => c.ns().at(-1) === n)).toBe(true));
    }
    for (const c of clients) expect(c.ns()).toEqual(["queued", 1, 2, 3]);
    // A read per wake-up for the job (three events; on PostgreSQL the watcher row's own wake-ups
    // too), not one per watcher.
    expect(reads - before).toBeLessThan(clients.length / 5);
    const last = clients.map((c) => c.chunks.at(-1));
    expect(new Set(last).size).toBe(1);
    for (const detach of detaches) detach();
    expect(hub.watcherCount()).toBe(0);
  });

  it("replays what a late watcher missed after its Last-Event-ID, then writes it the live events in order", async () => {
    const jobId = await newJob();
    const first = client();
    const stopFirst = hub.attach(jobId, 0, first.sink);
    for (let n = 1; n <= 3; n++) await addEvent(jobId, n);
    await vi.waitFor(() => expect(first.ns()).toEqual(["queued", 1, 2, 3]));
    const late = client();
    const stopLate = hub.attach(jobId, first.ids()[1]!, late.sink);
    await addEvent(jobId, 4);
    await addEvent(jobId, 5);
    await vi.waitFor(() => expect(late.ns()).toEqual([2, 3, 4, 5]));
    await vi.waitFor(() => expect(first.ns()).toEqual(["queued", 1, 2, 3, 4, 5]));
    expect(late.ids()).toEqual(first.ids().slice(2));
    stopFirst();
    stopLate();
  });

  it("drops a watcher that cannot keep up with a reconnectable close, and the others go on", async () => {
    const jobId = await newJob();
    const fast = client();
    const slow = client(true);
    const onEnd = vi.fn();
    const stopFast = hub.attach(jobId, 0, fast.sink);
    hub.attach(jobId, 0, slow.sink, onEnd);
    for (let n = 1; n <= 12; n++) await addEvent(jobId, n);
    await vi.waitFor(() => expect(fast.ns().at(-1)).toBe(12));
    expect(slow.ended).toEqual(["slow"]);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(hub.watcherCount()).toBe(1);
    // The client comes back with the last id it got, and misses nothing.
    const back = client();
    const stopBack = hub.attach(jobId, slow.ids().at(-1)!, back.sink);
    await vi.waitFor(() => expect([...slow.ns(), ...back.ns()]).toEqual(fast.ns()));
    stopFast();
    stopBack();
  });

  it("ends every watcher once the job has ended and every event was sent", async () => {
    const jobId = await newJob();
    const clients = [client(), client()];
    const onEnd = vi.fn();
    for (const c of clients) hub.attach(jobId, 0, c.sink, onEnd);
    await addEvent(jobId, 1);
    await addEvent(jobId, 2, "complete", "completed");
    await vi.waitFor(() => expect(clients.map((c) => c.ended)).toEqual([["done"], ["done"]]));
    for (const c of clients) expect(c.ns()).toEqual(["queued", 1, 2]);
    expect(onEnd).toHaveBeenCalledTimes(2);
    // A watcher that comes after the end gets the whole log, then the end.
    const after = client();
    hub.attach(jobId, 0, after.sink);
    await vi.waitFor(() => expect(after.ended).toEqual(["done"]));
    expect(after.ns()).toEqual(["queued", 1, 2]);
    expect(hub.watcherCount()).toBe(0);
  });
});
