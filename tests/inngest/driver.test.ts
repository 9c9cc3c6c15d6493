/**
 * The driver choice and the Inngest driver: which events it sends for a new job and a cancel,
 * with which ids, through a real Inngest client whose HTTP sends are captured.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config";
import { createInngestDriver } from "@/lib/engine/inngest-driver";
import { createInngestClient, inngestMode } from "@/lib/inngest/client";
import { log } from "@/lib/log";
import { createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import { capturingClient, createTestEnv, insertJob, type TestEnv } from "./support";

describe("choosing the driver", () => {
  it.each([
    [{}, undefined],
    [{ INNGEST_DEV: "1" }, "dev"],
    [{ INNGEST_DEV: "http://localhost:8288" }, "dev"],
    [{ INNGEST_DEV: "0" }, undefined],
    [{ INNGEST_DEV: "" }, undefined],
    [{ INNGEST_EVENT_KEY: "evt-key" }, "cloud"],
    [{ INNGEST_SIGNING_KEY: "signkey-prod-abc123" }, "cloud"],
    [{ INNGEST_DEV: "false", INNGEST_SIGNING_KEY: "signkey-prod-abc123" }, "cloud"],
  ])("%o → %s", (env, mode) => {
    const cfg = loadConfig(env);
    expect(inngestMode(cfg)).toBe(mode);
    // The SDK's own idea of the mode agrees (it decides whether requests must be signed).
    expect(createInngestClient(cfg).mode).toBe(mode ?? "cloud");
  });

  it("uses the dev server's URL given in INNGEST_DEV, and INNGEST_BASE_URL for self-hosted Inngest", () => {
    expect(createInngestClient(loadConfig({ INNGEST_DEV: "http://127.0.0.1:9999" })).apiBaseUrl).toBe("http://127.0.0.1:9999");
    const selfHosted = createInngestClient(loadConfig({ INNGEST_SIGNING_KEY: "signkey-prod-abc123", INNGEST_BASE_URL: "https://inngest.internal:8288" }));
    expect(selfHosted.apiBaseUrl).toBe("https://inngest.internal:8288");
  });

  describe("workflowDriver()", () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase("sqlite");
    });
    afterAll(async () => {
      await useTestEnvironment(testDb);
      delete process.env.INNGEST_DEV;
      await testDb.drop();
    });

    it("is the in-process runner without Inngest settings and the Inngest driver with them", async () => {
      const { workflowDriver } = await import("@/lib/engine/driver");
      delete process.env.INNGEST_DEV;
      await useTestEnvironment(testDb);
      expect(workflowDriver().name).toBe("in-process");
      await useTestEnvironment(testDb, { INNGEST_DEV: "1" });
      expect(workflowDriver().name).toBe("inngest");
    });

    it("announces finished predictions to Inngest for the webhook route, only under Inngest", async () => {
      const { announcePredictionCompleted } = await import("@/lib/inngest/prediction-wait");
      const sent: unknown[] = [];
      const send = async (event: unknown) => void sent.push(event);

      await useTestEnvironment(testDb, { INNGEST_DEV: "1" });
      expect(await announcePredictionCompleted({ id: "abc123", status: "succeeded" }, send)).toBe(true);
      expect(await announcePredictionCompleted({ id: "abc123", status: "processing" }, send)).toBe(false);
      expect(sent).toEqual([
        { id: "prediction-abc123-succeeded", name: "montage/replicate.prediction.completed", data: { prediction_id: "abc123", status: "succeeded" } },
      ]);

      delete process.env.INNGEST_DEV;
      await useTestEnvironment(testDb);
      expect(await announcePredictionCompleted({ id: "abc123", status: "failed" }, send)).toBe(false);
      expect(sent).toHaveLength(1);
    });
  });
});

describe("the Inngest driver", () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await createTestEnv();
  });
  afterAll(async () => {
    await env.cleanup();
  });

  it("sends one montage/job.queued per job attempt, named by the job id and attempt", async () => {
    const { client, sent } = capturingClient(env);
    const driver = createInngestDriver({ database: env.database, send: (event) => client.send(event), logger: log });
    const jobId = await insertJob(env, { attempts: 2 });

    await driver.enqueue(jobId);

    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual([
      expect.objectContaining({ id: `job-${jobId}-2`, name: "montage/job.queued", data: { job_id: jobId, user_id: env.userId, attempt: 2 } }),
    ]);
  });

  it("sends montage/job.canceled for a cancel", async () => {
    const { client, sent } = capturingClient(env);
    const driver = createInngestDriver({ database: env.database, send: (event) => client.send(event), logger: log });
    const jobId = await insertJob(env);

    await driver.interrupt(jobId);

    expect(sent[0]).toEqual([expect.objectContaining({ name: "montage/job.canceled", data: { job_id: jobId, user_id: env.userId } })]);
  });

  it("logs instead of throwing when Inngest cannot be reached (the sweep re-sends the event)", async () => {
    const errors: string[] = [];
    const logger = { ...log, error: (message: string) => errors.push(message), child: () => logger };
    const driver = createInngestDriver({
      database: env.database,
      send: () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:8288")),
      logger,
    });
    const jobId = await insertJob(env);

    await expect(driver.enqueue(jobId)).resolves.toBeUndefined();
    expect(errors).toEqual(["could not send the job's event to Inngest; the retry sweep re-sends it"]);
    expect(driver.name).toBe("inngest");
    await expect(driver.start()).resolves.toBeUndefined();
    await expect(driver.stop()).resolves.toBeUndefined();
  });
});
