/**
 * The driver choice and the Inngest driver: which events it sends for a new job and a cancel,
 * with which ids, through a real Inngest client whose HTTP sends are captured.
 */
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config";
import { createInngestClient, inngestMode } from "@/lib/inngest/client";
import { createInngestDriver } from "@/lib/inngest/driver";
import { silentLogger, type Logger } from "@/lib/log";
import type { Runtime } from "@/lib/server/runtime";
import { signWebhook } from "@/tests/fakes/replicate-fake";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import { capturingClient, createTestEnv, insertJob, type SentEvent, type TestEnv } from "./support";

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
    expect(createInngestClient(cfg, silentLogger).mode).toBe(mode ?? "cloud");
  });

  it("uses the dev server's URL given in INNGEST_DEV, and INNGEST_BASE_URL for self-hosted Inngest", () => {
    expect(createInngestClient(loadConfig({ INNGEST_DEV: "http://127.0.0.1:9999" }), silentLogger).apiBaseUrl).toBe("http://127.0.0.1:9999");
    const selfHosted = createInngestClient(loadConfig({ INNGEST_SIGNING_KEY: "signkey-prod-abc123", INNGEST_BASE_URL: "https://inngest.internal:8288" }), silentLogger);
    expect(selfHosted.apiBaseUrl).toBe("https://inngest.internal:8288");
  });

  describe("the runtime", () => {
    let testDb: TestDatabase;
    beforeAll(async () => {
      testDb = await createTestDatabase("sqlite");
    });
    afterAll(async () => {
      await closeTestEnvironment();
      await testDb.drop();
    });

    it("runs the in-process runner without Inngest settings and the Inngest driver with them", async () => {
      const inProcess = await useTestEnvironment(testDb);
      expect(inProcess.driver.name).toBe("in-process");
      expect(inProcess.inngest).toBeUndefined();
      const onInngest = await useTestEnvironment(testDb, { INNGEST_DEV: "1" });
      expect(onInngest.driver.name).toBe("inngest");
      expect(onInngest.inngest?.functions.map((fn) => fn.id())).toEqual(["workflow-execute", "workflow-retry-sweep"]);
    });

    it("forwards finished predictions from the webhook route to Inngest, only under Inngest", async () => {
      const sent: SentEvent[] = [];
      const capture: typeof fetch = async (_input, init) => {
        const events = JSON.parse(typeof init?.body === "string" ? init.body : "[]") as SentEvent[];
        sent.push(...events);
        return Response.json({ ids: events.map((_e, i) => `evt-${i}`), status: 200 });
      };
      const secret = `whsec_${randomBytes(24).toString("base64")}`;
      /** A verified Replicate delivery, as the webhook route hands it to the runtime's receiver. */
      const deliver = (rt: Runtime, status: string) => {
        const id = `msg_${randomBytes(8).toString("hex")}`;
        const timestamp = Math.floor(Date.now() / 1000);
        const body = JSON.stringify({ id: "abc123", status, output: null, error: null });
        const headers = new Headers({ "webhook-id": id, "webhook-timestamp": String(timestamp), "webhook-signature": signWebhook(secret, id, timestamp, body) });
        return rt.replicateWebhooks.receive({ headers, rawBody: new TextEncoder().encode(body) });
      };

      const onInngest = await useTestEnvironment(testDb, { INNGEST_DEV: "1", REPLICATE_WEBHOOK_SECRET: secret }, { inngest: { fetch: capture } });
      expect(await deliver(onInngest, "succeeded")).toBe("processed");
      expect(await deliver(onInngest, "processing")).toBe("ignored");
      expect(sent).toEqual([
        expect.objectContaining({ id: "prediction-abc123-succeeded", name: "montage/replicate.prediction.completed", data: { prediction_id: "abc123", status: "succeeded" } }),
      ]);

      const inProcess = await useTestEnvironment(testDb, { REPLICATE_WEBHOOK_SECRET: secret }, { inngest: { fetch: capture } });
      expect(await deliver(inProcess, "failed")).toBe("processed");
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
    const driver = createInngestDriver({ store: env.rt.store, send: (event) => client.send(event), logger: silentLogger });
    const jobId = await insertJob(env, { attempts: 2 });

    await driver.enqueue(jobId);

    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual([
      expect.objectContaining({ id: `job-${jobId}-2`, name: "montage/job.queued", data: { job_id: jobId, user_id: env.userId, attempt: 2 } }),
    ]);
  });

  it("sends montage/job.canceled for a cancel", async () => {
    const { client, sent } = capturingClient(env);
    const driver = createInngestDriver({ store: env.rt.store, send: (event) => client.send(event), logger: silentLogger });
    const jobId = await insertJob(env);

    await driver.interrupt(jobId);

    expect(sent[0]).toEqual([expect.objectContaining({ name: "montage/job.canceled", data: { job_id: jobId, user_id: env.userId } })]);
  });

  it("logs instead of throwing when Inngest cannot be reached (the sweep re-sends the event)", async () => {
    const errors: string[] = [];
    const logger: Logger = { ...silentLogger, error: (message: string) => errors.push(message), child: () => logger };
    const driver = createInngestDriver({
      store: env.rt.store,
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
