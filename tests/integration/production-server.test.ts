/**
 * The built server (`next start`, NODE_ENV=production) on the production providers, against the
 * fakes: a job submitted over HTTP completes through Replicate's signed webhooks, which reach the
 * route handler's bundle and wake the run in the server's runner. Needs `npm run build` first.
 */
import { createServer } from "node:net";
import { afterAll, beforeAll, expect, it } from "vitest";

import { signWebhook } from "@/tests/fakes/replicate-fake";
import { startProductionStack, type ProductionStack } from "@/tests/fakes/production-stack";
import { createUserWithToken, jpegBlob } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type TestDatabase } from "@/tests/helpers/db";
import { startServer, type RunningServer } from "@/tests/helpers/server";

let database: TestDatabase;
let stack: ProductionStack;
let server: RunningServer | undefined;
let token: string;

beforeAll(async () => {
  stack = await startProductionStack();
  database = await createTestDatabase("sqlite");
  await useTestEnvironment(database);
  ({ token } = await createUserWithToken("production@example.com"));
  const port = await freePortBetween(3300, 3399);
  server = await startServer(
    {
      ...stack.env({ APP_URL: `http://127.0.0.1:${port}`, REPLICATE_WEBHOOKS: "on" }),
      DATABASE_URL: database.url,
      DATA_DIR: database.dataDir,
    },
    port,
  );
});

afterAll(async () => {
  await server?.stop();
  await closeTestEnvironment();
  await database.drop();
  await stack.stop();
});

it("completes Image Edit to Video on the webhooks, with its result on Cloudinary", async () => {
  stack.replicate.completeAfter = { ms: 50 };
  const form = new FormData();
  form.append("workflow_id", "img-edit-to-video");
  form.append("file", jpegBlob(), "photo.jpg");
  const headers = { authorization: `Bearer ${token}` };
  const submitted = await fetch(`${server!.url}/workflows/execute`, { method: "POST", body: form, headers });
  const { job_id: jobId } = (await submitted.json()) as { job_id: string };

  let job = { status: "queued", result: null as Record<string, string> | null };
  for (const deadline = Date.now() + 20_000; !["completed", "failed", "canceled", "pending_retry"].includes(job.status); ) {
    if (Date.now() > deadline) throw new Error(`job is still ${job.status}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    job = ((await (await fetch(`${server!.url}/workflows/execution/${jobId}`, { headers })).json()) as { job: typeof job }).job;
  }
  expect(job.status).toBe("completed");
  expect(job.result?.video_url).toMatch(new RegExp(`^${stack.cloudinary.origin}/.+/video/upload/v\\d+/montage/jobs/${jobId}/2-video_generation\\.mp4$`));
  expect(stack.replicate.webhookDeliveries.map((delivery) => delivery.status)).toEqual([200, 200]);
  const polls = stack.replicate.requests.filter((request) => request.method === "GET" && request.path.startsWith("/v1/predictions/"));
  expect(polls).toEqual([]);

  // The route refuses what it cannot verify, in the API's error shape.
  const body = JSON.stringify({ id: "p", status: "succeeded" });
  const timestamp = Math.floor(Date.now() / 1000);
  const forged = await fetch(`${server!.url}/api/webhooks/replicate`, {
    method: "POST",
    body,
    headers: {
      "webhook-id": "msg_forged",
      "webhook-timestamp": String(timestamp),
      "webhook-signature": signWebhook(`whsec_${Buffer.from("not the secret").toString("base64")}`, "msg_forged", timestamp, body),
    },
  });
  expect(forged.status).toBe(401);
  expect(await forged.json()).toMatchObject({ success: false, error: { code: "unauthorized" } });
});

/** A free port in the range this project's test servers use. */
async function freePortBetween(low: number, high: number): Promise<number> {
  const size = high - low + 1;
  const start = Math.floor(Math.random() * size);
  for (let i = 0; i < size; i++) {
    const port = low + ((start + i) % size);
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port between ${low} and ${high}`);
}
