import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Runtime } from "@/lib/server/runtime";
import { JOB_EVENTS_CHANNEL } from "@/lib/store/postgres/watchers";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { insertTestJob, testWorkflow } from "../helpers/engine";

/**
 * Streams learn of events written by other processes: on PostgreSQL through the job_events
 * trigger and LISTEN (falling back to the tail while the listening connection is gone), on
 * SQLite through the shared tail. "Another process" is a separate connection of the raw driver
 * that inserts events the way any writer does, without this process's in-memory notifier.
 */
describe.each<Provider>(["sqlite", "postgresql"])("cross-process stream wake-ups on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let userId: string;
  let other: { insertEvent(jobId: string, n: number): Promise<void>; query(sql: string, values?: unknown[]): Promise<unknown[]>; close(): Promise<void> };

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    rt = await useTestEnvironment(database);
    userId = (await rt.prisma.user.create({ data: { email: `wakeups-${provider}@example.com` } })).id;
    if (provider === "postgresql") {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      other = {
        insertEvent: async (jobId, n) => {
          await client.query("INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', $2::jsonb)", [jobId, JSON.stringify({ n })]);
        },
        query: async (sql, values = []) => (await client.query(sql, values)).rows,
        close: () => client.end(),
      };
    } else {
      const connection = new Database(database.url.replace(/^file:/, ""), { timeout: 10_000 });
      other = {
        insertEvent: async (jobId, n) => {
          connection.prepare("INSERT INTO job_events (job_id, type, data, created_at) VALUES (?, 'progress', ?, ?)").run(jobId, JSON.stringify({ n }), new Date().toISOString());
        },
        query: async (sql, values = []) => connection.prepare(sql).all(...values),
        close: async () => void connection.close(),
      };
    }
  });

  afterAll(async () => {
    await other.close();
    await closeTestEnvironment();
    await database.drop();
  });

  const workflow = testWorkflow("followed", { upload: async () => ({}) });
  const newJob = () => insertTestJob(rt.store, workflow, userId);

  /** Opens a stream and collects the `n` of the events it delivers. */
  function follow(jobId: string) {
    const abort = new AbortController();
    const received: unknown[] = [];
    const reader = rt.streams.open(jobId, 0, abort.signal).getReader();
    const decoder = new TextDecoder();
    const done = (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
        if (chunk.done) return;
        for (const line of decoder.decode(chunk.value).split("\n")) {
          if (line.startsWith("data: ")) received.push((JSON.parse(line.slice(6)) as { n?: number; message?: string }).n ?? "queued");
        }
      }
    })();
    return {
      received,
      async close() {
        abort.abort();
        await reader.cancel().catch(() => undefined);
        await done;
      },
    };
  }

  // The safety poll of a stream is 10 s: anything delivered well before that came by a wake-up.
  const delivered = (stream: { received: unknown[] }, expected: unknown[]) => vi.waitFor(() => expect(stream.received).toEqual(expected), { timeout: 4_000, interval: 20 });

  it("delivers another process's events while a stream is open, and stops following when the last one closes", async () => {
    const jobId = await newJob();
    const stream = follow(jobId);
    await delivered(stream, ["queued"]);
    const mode = provider === "postgresql" ? "listen" : "tail";
    await vi.waitFor(() => expect(rt.wakeups.mode()).toBe(mode), { timeout: 4_000 });
    await other.insertEvent(jobId, 1);
    await delivered(stream, ["queued", 1]);
    await other.insertEvent(jobId, 2);
    await delivered(stream, ["queued", 1, 2]);
    const watchers = () => other.query("SELECT job_id FROM job_event_watchers WHERE job_id = $1".replace("$1", provider === "sqlite" ? "?" : "$1"), [jobId]);
    // On PostgreSQL the job is marked as watched, so that its commits notify; SQLite has no NOTIFY.
    expect(await watchers()).toEqual(provider === "postgresql" ? [{ job_id: jobId }] : []);
    await stream.close();
    expect(rt.wakeups.mode()).toBe("off");
    await vi.waitFor(async () => expect(await watchers()).toEqual([]));
  });

  if (provider === "postgresql") {
    it("the trigger notifies once per watched job per commit, and never for unwatched jobs or a rollback", async () => {
      const [watched, unwatched, expired] = [await newJob(), await newJob(), await newJob()];
      await other.query(
        "INSERT INTO job_event_watchers (job_id, process_id, expires_at) VALUES ($1, 'p1', (now() AT TIME ZONE 'UTC') + interval '1 minute'), ($2, 'p2', (now() AT TIME ZONE 'UTC') - interval '1 second')",
        [watched, expired],
      );
      const listener = new pg.Client({ connectionString: database.url });
      const payloads: string[] = [];
      listener.on("notification", (message) => payloads.push(message.payload ?? ""));
      await listener.connect();
      await listener.query(`LISTEN ${JOB_EVENTS_CHANNEL}`);
      const writer = new pg.Client({ connectionString: database.url });
      await writer.connect();
      await writer.query("BEGIN");
      await writer.query("INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', '{}'), ($1, 'checkpoint', '{}'), ($2, 'progress', '{}'), ($3, 'progress', '{}')", [watched, unwatched, expired]);
      await writer.query("COMMIT");
      await writer.query("BEGIN");
      await writer.query("INSERT INTO job_events (job_id, type, data) VALUES ($1, 'progress', '{}')", [watched]);
      await writer.query("ROLLBACK");
      await writer.query("INSERT INTO job_events (job_id, type, data) VALUES ($1, 'complete', '{}')", [watched]);
      // Notifications arrive in commit order: by the time the last commit's has, any earlier one has too.
      await vi.waitFor(() => expect(payloads.length).toBeGreaterThanOrEqual(2));
      expect(payloads).toEqual([watched, watched]);
      await writer.end();
      await listener.end();
    });

    it("keeps its watcher rows alive while it follows, and puts back one that went missing", async () => {
      const jobId = await newJob();
      const stream = follow(jobId);
      const expiry = async () => ((await other.query("SELECT expires_at > (now() AT TIME ZONE 'UTC') + interval '1 minute' AS fresh FROM job_event_watchers WHERE job_id = $1", [jobId])) as { fresh: boolean }[]).map((row) => row.fresh);
      await vi.waitFor(async () => expect(await expiry()).toEqual([true]));
      await other.query("DELETE FROM job_event_watchers WHERE job_id = $1", [jobId]);
      await rt.wakeups.refreshWatchers();
      expect(await expiry()).toEqual([true]);
      await stream.close();
    });

    it("a job's streams closed and reopened at once keep it watched", async () => {
      const jobId = await newJob();
      const keep = follow(jobId); // holds the listener, so the mode stays "listen" throughout
      await vi.waitFor(() => expect(rt.wakeups.mode()).toBe("listen"), { timeout: 4_000 });
      for (let i = 0; i < 3; i++) await follow(jobId).close();
      const stream = follow(jobId);
      await delivered(stream, ["queued"]);
      for (const n of [1, 2, 3]) {
        await other.insertEvent(jobId, n);
        await delivered(stream, ["queued", ...Array.from({ length: n }, (_, i) => i + 1)]);
      }
      expect(await other.query("SELECT job_id FROM job_event_watchers WHERE job_id = $1", [jobId])).toEqual([{ job_id: jobId }]);
      await stream.close();
      await keep.close();
    });

    it("polls while its listening connection is gone, and listens again once it can", async () => {
      const jobId = await newJob();
      const stream = follow(jobId);
      await vi.waitFor(() => expect(rt.wakeups.mode()).toBe("listen"), { timeout: 4_000 });
      const listeners = `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN ${JOB_EVENTS_CHANNEL}'`;
      const [{ pid }] = (await other.query(listeners)) as [{ pid: number }];
      await other.query(`SELECT pg_terminate_backend(${pid})`);
      await vi.waitFor(() => expect(rt.wakeups.mode()).toBe("tail"), { timeout: 4_000 });
      await other.insertEvent(jobId, 1);
      await delivered(stream, ["queued", 1]);
      await vi.waitFor(() => expect(rt.wakeups.mode()).toBe("listen"), { timeout: 4_000 });
      const [again] = (await other.query(listeners)) as [{ pid: number }];
      expect(again.pid).not.toBe(pid);
      await other.insertEvent(jobId, 2);
      await delivered(stream, ["queued", 1, 2]);
      await stream.close();
      await vi.waitFor(async () => expect(await other.query(listeners)).toEqual([]));
    });
  }
});
