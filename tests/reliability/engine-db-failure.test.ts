import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EngineDeps } from "@/lib/engine/types";
import type { Runtime } from "@/lib/server/runtime";
import type { Store } from "@/lib/store/types";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type TestDatabase } from "../helpers/db";
import { createUserWithToken, eventsOf, readJob } from "../helpers/api";
import { insertTestJob, runJob, testWorkflow } from "../helpers/engine";

/**
 * Found by the PostgreSQL-restart soak: a step's progress write failing because the database was
 * restarting ("Can't reach database server") came out of the handler, was classified as the step's
 * own hard failure, and was recorded once the database was back: the job failed for good, with
 * the driver's message as its error. A failing database call of the engine's own inside a step must
 * instead interrupt the run (nothing recorded), so that recovery resumes the step. Deterministic
 * here: the real store, with the one write the handler makes failing like a restarting PostgreSQL.
 */
describe("a database failure inside a step interrupts the run instead of failing the job", () => {
  let database: TestDatabase;
  let rt: Runtime;
  let userId: string;

  beforeAll(async () => {
    database = await createTestDatabase("sqlite");
    rt = await useTestEnvironment(database);
    ({ userId } = await createUserWithToken("engine-db-failure@example.com"));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  it.each(["progress", "state"] as const)("when the %s write fails", async (write) => {
    let failNextWrite = false;
    const calls: number[] = [];
    const workflow = testWorkflow(
      `db-failure-${write}`,
      {
        only: async (ctx) => {
          calls.push(calls.length + 1);
          failNextWrite = calls.length === 1;
          if (write === "progress") await ctx.progress(50, "halfway");
          else await ctx.state.save({ predictionId: "p-1" });
          return { done: true };
        },
      },
      { retry: { max_attempts: 3, backoff_seconds: 0.001 } },
    );
    // The real store, except that the armed write fails like a restarting PostgreSQL.
    const failOnce = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => (...args: A): Promise<R> => {
      if (!failNextWrite) return call(...args);
      failNextWrite = false;
      return Promise.reject(new Error("Can't reach database server at 127.0.0.1:5432"));
    };
    const failing: Store = Object.assign(Object.create(rt.store) as Store, {
      recordProgress: failOnce(rt.store.recordProgress.bind(rt.store)),
      saveStepState: failOnce(rt.store.saveStepState.bind(rt.store)),
    });
    const engine = (store: Store): EngineDeps => ({ ...rt.engine, store, findWorkflow: (id) => (id === workflow.config.id ? workflow : undefined) });
    const jobId = await insertTestJob(rt.store, workflow, userId);

    await expect(runJob(engine(failing), jobId)).rejects.toThrow("Can't reach database server");
    const interrupted = await readJob(jobId);
    expect(interrupted).toMatchObject({ status: "running", error: null, errorCode: null });
    expect(interrupted.layout["0"]?.status).toBe("running");
    expect((await eventsOf(jobId)).filter((event) => event.type === "error" || event.type === "checkpoint")).toEqual([]);

    // Recovery (here: simply the next run) resumes the step and completes the job.
    expect(await runJob(engine(rt.store), jobId)).toMatchObject({ status: "completed" });
    expect(calls).toEqual([1, 2]);
  });
});
