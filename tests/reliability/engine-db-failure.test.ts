import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Checkpoints } from "@/lib/contract/events";
import type { Db } from "@/lib/db/client";
import type { Workflow } from "@/lib/workflows/definition";
import { createTestDatabase, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken } from "../helpers/api";

/**
 * Found by the PostgreSQL-restart soak: a step's progress write failing because the database was
 * restarting ("Can't reach database server") came out of the handler, was classified as the step's
 * own hard failure, and was recorded once the database was back: the job failed for good, with
 * Prisma's message as its error. A failing database call of the engine's own inside a step must
 * instead interrupt the run (nothing recorded), so that recovery resumes the step. Deterministic
 * here: the database fails the one progress write the handler makes.
 */
describe("a database failure inside a step interrupts the run instead of failing the job", () => {
  let database: TestDatabase;
  let m: {
    db: () => Db;
    executor: typeof import("@/lib/engine/executor");
    providers: typeof import("@/lib/providers");
    log: typeof import("@/lib/log").log;
  };
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    await useTestEnvironment(database);
    m = {
      db: (await import("@/lib/db/client")).db,
      executor: await import("@/lib/engine/executor"),
      providers: await import("@/lib/providers"),
      log: (await import("@/lib/log")).log,
    };
    ({ userId } = await createUserWithToken("engine-db-failure@example.com"));
  });

  afterAll(async () => {
    await useTestEnvironment(database);
    await database.drop();
  });

  it.each(["progress", "state"] as const)("when the %s write fails", async (write) => {
    let failNextTransaction = false;
    const calls: number[] = [];
    const workflow: Workflow = {
      config: {
        id: `db-failure-${write}`,
        name: "db failure",
        description: "",
        icon: "🧪",
        steps: [{ name: "only", type: "generation", label: "Only step" }],
        inputs: [],
        retry: { max_attempts: 3, backoff_seconds: 0.001 },
      },
      handlers: {
        only: async (ctx) => {
          calls.push(calls.length + 1);
          failNextTransaction = calls.length === 1;
          if (write === "progress") await ctx.progress(50, "halfway");
          else await ctx.state.save({ predictionId: "p-1" });
          return { done: true };
        },
      },
    };
    // The real database, except that the armed call fails like a restarting PostgreSQL.
    const failing = new Proxy(m.db(), {
      get(target, property) {
        const value: unknown = Reflect.get(target, property);
        if (property === "$transaction" || property === "workflowExecution") {
          const fail = () => {
            if (!failNextTransaction) return false;
            failNextTransaction = false;
            return true;
          };
          if (property === "$transaction") {
            return (...args: unknown[]) => (fail() ? Promise.reject(new Error("Can't reach database server at 127.0.0.1:5432")) : (value as (...a: unknown[]) => unknown).apply(target, args));
          }
          return new Proxy(value as object, {
            get(model, method) {
              const fn: unknown = Reflect.get(model, method);
              if (method !== "update" || typeof fn !== "function") return fn;
              return (...args: unknown[]) => (fail() ? Promise.reject(new Error("Can't reach database server at 127.0.0.1:5432")) : (fn as (...a: unknown[]) => unknown).apply(model, args));
            },
          });
        }
        return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const job = await m.db().job.create({
      data: { userId, workflowId: workflow.config.id, status: "queued", inputs: {}, execution: { create: { workflowId: workflow.config.id, checkpoints: {}, maxRetries: 3 } } },
    });
    const run = (db: Db) =>
      m.executor.runExecution(job.id, {
        runner: m.executor.directStepRunner,
        providers: m.providers.providers(),
        signal: new AbortController().signal,
        retryBaseSeconds: 0.001,
        defaultMaxRetries: 3,
        database: db,
        logger: m.log,
        findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined),
      });

    await expect(run(failing)).rejects.toThrow("Can't reach database server");
    const interrupted = await m.db().job.findUniqueOrThrow({ where: { id: job.id }, include: { execution: true } });
    expect(interrupted).toMatchObject({ status: "running", error: null, errorCode: null });
    expect((interrupted.execution!.checkpoints as unknown as Checkpoints)["0"]?.status).toBe("running");
    expect(await m.db().jobEvent.count({ where: { jobId: job.id, type: { in: ["error", "checkpoint"] } } })).toBe(0);

    // Recovery (here: simply the next run) resumes the step and completes the job.
    expect(await run(m.db())).toMatchObject({ status: "completed" });
    expect(calls).toEqual([1, 2]);
  });
});
