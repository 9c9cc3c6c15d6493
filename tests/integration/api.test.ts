import { existsSync } from "node:fs";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, closeTestEnvironment, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import {
  authed,
  BASE,
  createUserWithToken,
  executeRequest,
  FIXTURE_JPEG,
  jobParams,
  jpegBlob,
  readSse,
  waitForJobStatus,
} from "../helpers/api";
import { runtime } from "@/lib/server/runtime";

/**
 * The HTTP API, called through the real route handlers on a real database, with the real
 * in-process runner and local providers doing the work. Runs on SQLite and on PostgreSQL.
 */
describe.each<Provider>(["sqlite", "postgresql"])("HTTP API on %s", (provider) => {
  let database: TestDatabase;
  let routes: Awaited<ReturnType<typeof loadRoutes>>;
  let alice: { userId: string; token: string; tokenId: string };
  let bob: { userId: string; token: string; tokenId: string };

  async function loadRoutes() {
    return {
      list: await import("@/app/workflows/list/route"),
      execute: await import("@/app/workflows/execute/route"),
      retry: await import("@/app/workflows/retry/[jobId]/route"),
      cancel: await import("@/app/workflows/cancel/[jobId]/route"),
      execution: await import("@/app/workflows/execution/[jobId]/route"),
      jobs: await import("@/app/jobs/route"),
      stream: await import("@/app/jobs/[jobId]/stream/route"),
      input: await import("@/app/jobs/[jobId]/input/route"),
      files: await import("@/app/files/[...key]/route"),
      openapi: await import("@/app/api/openapi.json/route"),
      db: () => runtime().prisma,
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    routes = await loadRoutes();
    alice = await createUserWithToken(`alice-${provider}@example.com`);
    bob = await createUserWithToken(`bob-${provider}@example.com`);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(token: string, fields: Record<string, string | Blob> = {}) {
    const response = await routes.execute.POST(executeRequest(token, { workflow_id: "img-edit-to-video", file: jpegBlob(), ...fields }));
    return { response, body: (await response.json()) as Record<string, unknown> };
  }

  async function counts() {
    const d = routes.db();
    return { jobs: await d.job.count(), uploads: await d.upload.count(), events: await d.jobEvent.count() };
  }

  it("lists the installed workflows in the note's shape", async () => {
    const response = await routes.list.GET(new Request(`${BASE}/workflows/list`));
    expect(response.status).toBe(200);
    const body = (await response.json()) as { success: boolean; workflows: Record<string, unknown>[] };
    expect(body.success).toBe(true);
    expect(body.workflows).toEqual([
      expect.objectContaining({
        id: "img-edit-to-video",
        name: "Image Edit to Video",
        description: "Transform your image with AI, then convert to cinematic video",
        icon: "🎬",
        steps: [
          expect.objectContaining({ name: "upload", type: "input" }),
          expect.objectContaining({ name: "image_edit", type: "generation" }),
          expect.objectContaining({ name: "video_generation", type: "generation" }),
        ],
        upload: { field: "file", required: true, label: "Image" },
      }),
      // The workflows that prove a new one is a folder (tests/integration/workflows.test.ts runs them).
      expect.objectContaining({ id: "product-shots", name: "Product Shots", upload: { field: "photo", required: true, label: "Product photo" } }),
      expect.objectContaining({ id: "text-to-video", name: "Text to Video", upload: { field: "subject_reference", required: false, label: "Character reference" } }),
    ]);
  });

  it("runs the note's curl sequence: execute, stream, execution details, and serves a real MP4", async () => {
    const { response, body } = await execute(alice.token, { edit_prompt: "black and white, cinematic" });
    expect(response.status).toBe(202);
    expect(body).toEqual({ success: true, job_id: expect.any(String), stream_url: `/jobs/${body.job_id as string}/stream`, estimated_cost_usd: 0 });
    const jobId = body.job_id as string;

    const stream = await routes.stream.GET(authed(alice.token, `/jobs/${jobId}/stream`), jobParams(jobId));
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toMatch(/^text\/event-stream/);
    const events = await readSse(stream);
    const kinds = events.map((e) => e.event);
    expect(kinds.at(-1)).toBe("complete");
    expect(kinds.filter((k) => k === "checkpoint")).toHaveLength(3);
    expect(events.map((e) => e.id)).toEqual([...events.map((e) => e.id)].sort((a, b) => a - b));
    expect(events.find((e) => e.event === "progress")?.data).toMatchObject({ step: 0, step_name: "upload", progress: expect.any(Number) });
    const complete = events.at(-1)!.data as { result: { video_url: string } };
    expect(complete.result.video_url).toMatch(new RegExp(`^${BASE}/files/jobs/${jobId}/2-video_generation\\.mp4$`));

    const details = await routes.execution.GET(authed(alice.token, `/workflows/execution/${jobId}`), jobParams(jobId));
    const detail = (await details.json()) as { success: boolean; job: { inputs: Record<string, string> }; execution: unknown; checkpoints: unknown };
    expect(detail.success).toBe(true);
    expect(detail.job).toMatchObject({ id: jobId, status: "completed", progress: 100, attempts: 1, result: complete.result });
    expect(detail.job.inputs.edit_prompt).toBe("black and white, cinematic");
    expect(detail.execution).toMatchObject({ job_id: jobId, current_step: 3, retry_count: 0, max_retries: 5 });
    expect(detail.checkpoints).toEqual({
      "0": expect.objectContaining({ status: "completed", output: { image_url: expect.stringContaining("/0-upload.jpg") } }),
      "1": expect.objectContaining({ status: "completed", output: { edited_image_url: expect.stringContaining("/1-image_edit.png") } }),
      "2": expect.objectContaining({ status: "completed", output: { video_url: complete.result.video_url } }),
    });

    const segments = new URL(complete.result.video_url).pathname.split("/").slice(2);
    const file = await routes.files.GET(authed(alice.token, `/files/${segments.join("/")}`), { params: Promise.resolve({ key: segments }) });
    expect(file.status).toBe(200);
    expect(file.headers.get("content-type")).toBe("video/mp4");
    const mp4 = Buffer.from(await file.arrayBuffer());
    expect(mp4.subarray(4, 8).toString("latin1")).toBe("ftyp");
    expect(mp4.length).toBeGreaterThan(10_000);

    const ranged = await routes.files.GET(authed(alice.token, `/files/x`, { headers: { range: "bytes=0-99" } }), { params: Promise.resolve({ key: segments }) });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 0-99/${mp4.length}`);

    // Last-Event-ID replays exactly the missed events.
    const middle = events[Math.floor(events.length / 2)]!;
    const replay = await readSse(
      await routes.stream.GET(authed(alice.token, `/jobs/${jobId}/stream`, { headers: { "last-event-id": String(middle.id) } }), jobParams(jobId)),
    );
    expect(replay).toEqual(events.filter((e) => e.id > middle.id));
  });

  it("refuses another user's job on every route with 404, and never serves their files", async () => {
    const { body } = await execute(alice.token);
    const jobId = body.job_id as string;
    await waitForJobStatus(jobId, ["completed"]);
    const responses = [
      await routes.execution.GET(authed(bob.token, `/workflows/execution/${jobId}`), jobParams(jobId)),
      await routes.stream.GET(authed(bob.token, `/jobs/${jobId}/stream`), jobParams(jobId)),
      await routes.retry.POST(authed(bob.token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId)),
      await routes.cancel.POST(authed(bob.token, `/workflows/cancel/${jobId}`, { method: "POST" }), jobParams(jobId)),
      await routes.files.GET(authed(bob.token, `/files/jobs/${jobId}/0-upload.jpg`), { params: Promise.resolve({ key: ["jobs", jobId, "0-upload.jpg"] }) }),
      await routes.input.GET(authed(bob.token, `/jobs/${jobId}/input`), jobParams(jobId)),
    ];
    for (const response of responses) {
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ success: false, error: { code: "not_found", message: expect.any(String) } });
    }
    const bobsJobs = (await (await routes.jobs.GET(authed(bob.token, "/jobs"))).json()) as { jobs: unknown[] };
    expect(bobsJobs.jobs).toEqual([]);
  });

  it("gives the owner back the image a job started with (for Run again), and nobody else", async () => {
    const { body } = await execute(alice.token, { file: new File([new Uint8Array(FIXTURE_JPEG)], "holiday photo.jpg", { type: "image/jpeg" }) });
    const jobId = body.job_id as string;
    const response = await routes.input.GET(authed(alice.token, `/jobs/${jobId}/input`), jobParams(jobId));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("image/jpeg");
    expect(response.headers.get("content-disposition")).toBe('inline; filename="holiday photo.jpg"');
    expect(Buffer.from(await response.arrayBuffer()).equals(FIXTURE_JPEG)).toBe(true);

    for (const refused of [
      await routes.input.GET(authed(bob.token, `/jobs/${jobId}/input`), jobParams(jobId)),
      await routes.input.GET(authed(alice.token, "/jobs/not-a-job/input"), jobParams("not-a-job")),
      await routes.input.GET(authed(alice.token, `/jobs/${crypto.randomUUID()}/input`), jobParams(crypto.randomUUID())),
    ]) {
      expect(refused.status).toBe(404);
      expect(await refused.json()).toEqual({ success: false, error: { code: "not_found", message: expect.any(String) } });
    }
    const anonymous = await routes.input.GET(new Request(`${BASE}/jobs/${jobId}/input`), jobParams(jobId));
    expect(anonymous.status).toBe(401);
    await waitForJobStatus(jobId, ["completed"]);
  });

  it("pages the caller's jobs newest first", async () => {
    const carol = await createUserWithToken(`carol-${provider}@example.com`);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await execute(carol.token)).body.job_id as string);
    for (const id of ids) await waitForJobStatus(id, ["completed"]);
    const first = (await (await routes.jobs.GET(authed(carol.token, "/jobs?limit=2"))).json()) as { jobs: { id: string }[]; next_cursor: string };
    expect(first.jobs.map((j) => j.id)).toEqual([ids[2], ids[1]]);
    const second = (await (await routes.jobs.GET(authed(carol.token, `/jobs?limit=2&cursor=${first.next_cursor}`))).json()) as {
      jobs: { id: string }[];
      next_cursor: string | null;
    };
    expect(second.jobs.map((j) => j.id)).toEqual([ids[0]]);
    expect(second.next_cursor).toBeNull();
    const bad = await routes.jobs.GET(authed(carol.token, "/jobs?limit=1000"));
    expect(bad.status).toBe(400);
  });

  it("answers wrong-state actions with 409", async () => {
    const { body } = await execute(alice.token);
    const jobId = body.job_id as string;
    await waitForJobStatus(jobId, ["completed"]);
    const retry = await routes.retry.POST(authed(alice.token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(retry.status).toBe(409);
    expect(((await retry.json()) as { error: { code: string } }).error.code).toBe("wrong_state");
    const cancel = await routes.cancel.POST(authed(alice.token, `/workflows/cancel/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(cancel.status).toBe(409);
  });

  describe("bad input gets a clear 4xx in the error shape and stores nothing", () => {
    const bigPng = async (width: number, height: number) =>
      sharp({ create: { width, height, channels: 3, background: "#000" } }).png({ compressionLevel: 9 }).toBuffer();

    const cases: [string, () => Promise<Request>, number, string][] = [
      ["no token", async () => executeRequest(undefined, { workflow_id: "img-edit-to-video", file: jpegBlob() }), 401, "unauthorized"],
      ["a malformed token", async () => executeRequest("mtg_nope", { workflow_id: "img-edit-to-video", file: jpegBlob() }), 401, "unauthorized"],
      [
        "a JSON body",
        async () => new Request(`${BASE}/workflows/execute`, { method: "POST", body: "{}", headers: { authorization: `Bearer ${alice.token}`, "content-type": "application/json" } }),
        415,
        "unsupported_media_type",
      ],
      [
        "malformed multipart",
        async () =>
          new Request(`${BASE}/workflows/execute`, {
            method: "POST",
            body: "--x\r\nContent-Disposition: form-data; name=\"workflow_id\"\r\n\r\nimg-edit-to-video\r\n--x\r\nContent-Disposition: form-da",
            headers: { authorization: `Bearer ${alice.token}`, "content-type": "multipart/form-data; boundary=x" },
          }),
        400,
        "invalid_form",
      ],
      ["no workflow_id", async () => executeRequest(alice.token, { file: jpegBlob() }), 400, "invalid_form"],
      ["an unknown workflow", async () => executeRequest(alice.token, { workflow_id: "nope", file: jpegBlob() }), 404, "not_found"],
      ["no file", async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video" }), 400, "invalid_form"],
      ["an unknown field", async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(), colour: "red" }), 400, "invalid_form"],
      [
        "an over-long prompt",
        async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(), edit_prompt: "x".repeat(1001) }),
        400,
        "invalid_form",
      ],
      [
        "HTML sent as image/jpeg",
        async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: new Blob(["<html><script>alert(1)</script>"], { type: "image/jpeg" }) }),
        415,
        "unsupported_media_type",
      ],
      ["an empty file", async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: new Blob([], { type: "image/png" }) }), 422, "invalid_input"],
      [
        "a truncated JPEG",
        async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(FIXTURE_JPEG.subarray(0, FIXTURE_JPEG.length / 3)) }),
        422,
        "invalid_input",
      ],
      ["a pixel bomb", async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(await bigPng(8000, 6000), "image/png") }), 422, "invalid_input"],
      [
        "a file over the size limit",
        async () => executeRequest(alice.token, { workflow_id: "img-edit-to-video", file: jpegBlob(Buffer.alloc(11 * 1024 * 1024, 1)) }),
        413,
        "payload_too_large",
      ],
    ];

    it.each(cases)("%s", async (_name, makeRequest, status, code) => {
      const before = await counts();
      const response = await routes.execute.POST(await makeRequest());
      expect(response.status).toBe(status);
      expect(await response.json()).toEqual({ success: false, error: { code, message: expect.any(String) } });
      expect(await counts()).toEqual(before);
    });

    it("a revoked token", async () => {
      const dave = await createUserWithToken(`dave-${provider}@example.com`);
      await routes.db().apiToken.update({ where: { id: dave.tokenId }, data: { revokedAt: new Date() } });
      const response = await routes.execute.POST(executeRequest(dave.token, { workflow_id: "img-edit-to-video", file: jpegBlob() }));
      expect(response.status).toBe(401);
    });

    it("a malformed job id or Last-Event-ID", async () => {
      const notUuid = await routes.execution.GET(authed(alice.token, "/workflows/execution/../../etc"), jobParams("../../etc"));
      expect(notUuid.status).toBe(404);
      const { body } = await execute(alice.token);
      const jobId = body.job_id as string;
      const badReplay = await routes.stream.GET(authed(alice.token, `/jobs/${jobId}/stream`, { headers: { "last-event-id": "9".repeat(40) } }), jobParams(jobId));
      expect(badReplay.status).toBe(400);
      await waitForJobStatus(jobId, ["completed"]);
    });

    it.each(["../../../../tmp/evil.jpg", "evil\u0001.jpg", "..\\..\\evil.jpg"])("a file named %j", async (filename) => {
      const before = await counts();
      const form = new FormData();
      form.append("workflow_id", "img-edit-to-video");
      form.append("file", jpegBlob(), filename);
      const response = await routes.execute.POST(new Request(`${BASE}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${alice.token}` } }));
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ success: false, error: { code: "invalid_form", message: expect.any(String) } });
      expect(await counts()).toEqual(before);
      expect(existsSync(path.join(database.dataDir, "evil.jpg"))).toBe(false);
    });
  });

  it("publishes an OpenAPI 3.1 document generated from the schemas", async () => {
    const document = (await routes.openapi.GET().json()) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe("3.1.0");
    expect(Object.keys(document.paths).sort()).toEqual(
      [
        "/api/budget",
        "/api/webhook-secret",
        "/jobs",
        "/jobs/cancel",
        "/jobs/retry",
        "/jobs/{job_id}/input",
        "/jobs/{job_id}/input/{field}",
        "/jobs/{job_id}/stream",
        "/jobs/{job_id}/webhooks",
        "/usage",
        "/workflows/approve/{job_id}",
        "/workflows/cancel/{job_id}",
        "/workflows/estimate",
        "/workflows/execute",
        "/workflows/execution/{job_id}",
        "/workflows/list",
        "/workflows/pick/{job_id}",
        "/workflows/rerun/{job_id}",
        "/workflows/retry/{job_id}",
      ].sort(),
    );
    // The execute form is each installed workflow's own, by reference.
    const components = (document as unknown as { components: { schemas: Record<string, { properties: Record<string, unknown> }> } }).components.schemas;
    expect(JSON.stringify(document.paths["/workflows/execute"])).toContain("#/components/schemas/Execute.img-edit-to-video");
    // Every field execute takes: the declared inputs, the file, and the fields every run may send.
    expect(Object.keys(components["Execute.img-edit-to-video"]!.properties)).toEqual([
      "workflow_id",
      "edit_prompt",
      "video_prompt",
      "file",
      "approve_before",
      "candidates[image_edit]",
      "candidates[video_generation]",
      "auto_pick",
      "webhook_url",
      "webhook_events",
      "deadline_seconds",
    ]);
    expect(components["Execute.img-edit-to-video"]!.properties["candidates[image_edit]"]).toMatchObject({ type: "integer", minimum: 1, maximum: 4, default: 1 });
    expect(JSON.stringify(document.paths["/workflows/rerun/{job_id}"])).toContain("from_step");
  });
});
