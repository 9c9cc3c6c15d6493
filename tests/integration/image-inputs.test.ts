import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "@/lib/server/runtime";
import type { StepContext } from "@/lib/workflows/step-context";
import { workflowConfigSchema, type Workflow } from "@/lib/workflows/definition";
import { buildRegistry } from "@/lib/workflows/registry";
import { discoveredWorkflows } from "@/lib/workflows/registry.generated";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { authed, BASE, createUserWithToken, executeRequest, FIXTURE_JPEG, jobParams, jpegBlob, waitForJobStatus } from "../helpers/api";

/** The most bytes a file may have here: the fixture photo fits, a padded copy of it does not. */
const MAX_UPLOAD_BYTES = 64 * 1024;

/**
 * A workflow of the test's own with three image inputs: the photo is the job's upload (its `input`
 * step's), the style reference a required extra image and the mask an optional one. Each step
 * reports what it read, so the test sees what a handler gets.
 */
async function seen(ctx: StepContext) {
  const upload = await ctx.readUpload();
  const describe = (image: { body: Buffer; contentType: string; filename: string } | null) => image && { filename: image.filename, contentType: image.contentType, bytes: image.body.length };
  return {
    upload: describe(upload),
    photo: describe(await ctx.readInputImage("photo")),
    style: describe(await ctx.readInputImage("style")),
    mask: describe(await ctx.readInputImage("mask")),
  };
}

const styleTransfer: Workflow = {
  config: workflowConfigSchema.parse({
    id: "style-transfer",
    name: "Style transfer",
    description: "A photo redrawn in the style of a reference, within an optional mask",
    icon: "🎨",
    steps: [
      { name: "upload", type: "input", label: "Upload" },
      { name: "stylise", type: "generation", label: "Stylise" },
    ],
    inputs: [
      { name: "photo", label: "Photo", type: "image", required: true },
      { name: "style", label: "Style reference", type: "image", required: true, description: "A picture in the style to copy" },
      { name: "mask", label: "Mask", type: "image" },
      { name: "note", label: "Note", type: "text" },
    ],
  }),
  handlers: { upload: seen, stylise: seen },
  version: "test-1",
};

/**
 * Image inputs beyond the first are extra uploads, through the routes and the engine on both
 * databases: stored beside the job's upload and read by handlers, an optional one absent, a
 * missing required one, an unknown file field, an oversized or unreadable extra refused with
 * nothing stored; a rerun copies them, the estimate takes the same form. Text to Video's
 * optional character reference, on the local models.
 */
describe.each<Provider>(["sqlite", "postgresql"])("image inputs on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let routes: Awaited<ReturnType<typeof loadRoutes>>;
  let token: string;

  async function loadRoutes() {
    return {
      execute: await import("@/app/workflows/execute/route"),
      estimate: await import("@/app/workflows/estimate/route"),
      rerun: await import("@/app/workflows/rerun/[jobId]/route"),
      list: await import("@/app/workflows/list/route"),
      input: await import("@/app/jobs/[jobId]/input/route"),
      extraInput: await import("@/app/jobs/[jobId]/input/[field]/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    const installed = buildRegistry(discoveredWorkflows);
    installed.workflows.set(styleTransfer.config.id, styleTransfer);
    rt = await useTestEnvironment(database, { MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES) }, { registry: installed });
    routes = await loadRoutes();
    ({ token } = await createUserWithToken(`image-inputs-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(fields: Record<string, string | Blob>, headers: Record<string, string> = {}) {
    const response = await routes.execute.POST(executeRequest(token, fields, { headers }));
    return { status: response.status, body: (await response.json()) as { job_id?: string; error?: { code: string; message: string } } };
  }

  const pngBlob = async (color: string, size = 24) => new Blob([new Uint8Array(await sharp({ create: { width: size, height: size, channels: 3, background: color } }).png().toBuffer())], { type: "image/png" });
  const file = (blob: Blob, name: string) => new File([blob], name, { type: blob.type });
  const stored = async () => ({ jobs: await rt.prisma.job.count(), uploads: await rt.prisma.upload.count() });
  const uploadRows = (jobId: string) => rt.prisma.upload.findMany({ where: { jobId }, orderBy: { field: "asc" }, select: { field: true, filename: true, contentType: true, size: true, width: true, height: true } });

  it("stores each extra image beside the job's upload, and the handlers read every image input; an optional one not sent reads as null", async () => {
    const style = await pngBlob("#3366cc", 20);
    const { status, body } = await execute({ workflow_id: "style-transfer", photo: file(jpegBlob(), "photo.jpg"), style: file(style, "style.png"), note: "hi" });
    expect(status, JSON.stringify(body)).toBe(202);
    const done = await waitForJobStatus(body.job_id!, ["completed"]);
    const photo = { filename: "photo.jpg", contentType: "image/jpeg", bytes: FIXTURE_JPEG.length };
    const read = { upload: photo, photo, style: { filename: "style.png", contentType: "image/png", bytes: style.size }, mask: null };
    expect(done.layout["0"]!.output).toEqual(read);
    expect(done.result).toEqual(read);
    // The job's upload is the photo, as before; the style is a row of its own.
    expect(done.upload).toMatchObject({ filename: "photo.jpg", contentType: "image/jpeg", size: FIXTURE_JPEG.length });
    expect(await uploadRows(done.id)).toEqual([
      { field: "", filename: "photo.jpg", contentType: "image/jpeg", size: FIXTURE_JPEG.length, width: expect.any(Number), height: expect.any(Number) },
      { field: "style", filename: "style.png", contentType: "image/png", size: style.size, width: 20, height: 20 },
    ]);

    // With the optional mask sent too, the handler reads it.
    const withMask = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style, mask: file(await pngBlob("#000000", 12), "mask.png") });
    const masked = await waitForJobStatus(withMask.body.job_id!, ["completed"]);
    expect((masked.result as { mask: unknown }).mask).toEqual({ filename: "mask.png", contentType: "image/png", bytes: expect.any(Number) });
    expect((await uploadRows(masked.id)).map((row) => [row.field, row.width])).toEqual([["", expect.any(Number)], ["mask", 12], ["style", 20]]);
  });

  it("refuses a missing required extra, a file in an unknown field, an oversized or unreadable extra and an image sent as text, naming the field and storing nothing", async () => {
    const before = await stored();
    const style = await pngBlob("#3366cc");
    const missing = await execute({ workflow_id: "style-transfer", photo: jpegBlob() });
    expect(missing).toMatchObject({ status: 400, body: { error: { code: "invalid_form", message: "style: attach the image (Style reference) as the form field `style`." } } });
    const unknown = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style, texture: jpegBlob() });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: "invalid_form", message: expect.stringContaining("`texture`") } } });
    expect(unknown.body.error!.message).toContain("`photo`, `style`, `mask`");
    const oversized = Buffer.concat([FIXTURE_JPEG, Buffer.alloc(MAX_UPLOAD_BYTES + 1 - FIXTURE_JPEG.length)]);
    const tooLarge = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style: jpegBlob(oversized) });
    expect(tooLarge).toMatchObject({ status: 413, body: { error: { code: "payload_too_large", message: expect.stringContaining("style") } } });
    const notImage = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style: new Blob(["not an image"], { type: "image/png" }) });
    expect(notImage).toMatchObject({ status: 415, body: { error: { message: "style: The file is not a JPEG, PNG or WebP image." } } });
    const asText = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style, mask: "mask.png" });
    expect(asText).toMatchObject({ status: 400, body: { error: { message: "mask: send the image as a file, not as text." } } });
    const twice = new FormData();
    twice.append("workflow_id", "style-transfer");
    twice.append("photo", jpegBlob());
    twice.append("style", style);
    twice.append("style", style);
    const sentTwice = await routes.execute.POST(new Request(`${BASE}/workflows/execute`, { method: "POST", body: twice, headers: { authorization: `Bearer ${token}` } }));
    expect(sentTwice.status).toBe(400);
    expect(((await sentTwice.json()) as { error: { message: string } }).error.message).toContain("style");
    // Existing workflows answer as they did: Image Edit to Video still needs `file`, and takes nothing else.
    expect(await execute({ workflow_id: "img-edit-to-video", file: jpegBlob(), style })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("attach the image as the form field `file`") } } });
    expect(await stored()).toEqual(before);
  });

  it("a rerun copies every image of its parent, and its steps read them; the estimate takes the execute form with its files", async () => {
    const style = await pngBlob("#aa3300", 16);
    const { body } = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style: file(style, "style.png") });
    const parent = await waitForJobStatus(body.job_id!, ["completed"]);
    const answer = await routes.rerun.POST(
      authed(token, `/workflows/rerun/${parent.id}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from_step: 1 }) }),
      jobParams(parent.id),
    );
    expect(answer.status).toBe(202);
    const rerun = await waitForJobStatus(((await answer.json()) as { job_id: string }).job_id, ["completed"]);
    expect(rerun.parentJobId).toBe(parent.id);
    expect((rerun.result as { style: unknown }).style).toEqual({ filename: "style.png", contentType: "image/png", bytes: style.size });
    expect(await uploadRows(rerun.id)).toEqual(await uploadRows(parent.id));

    const form = new FormData();
    for (const [name, value] of Object.entries({ workflow_id: "style-transfer", photo: jpegBlob(), style, note: "x" })) form.append(name, value);
    const estimate = await routes.estimate.POST(new Request(`${BASE}/workflows/estimate`, { method: "POST", body: form, headers: { authorization: `Bearer ${token}` } }));
    expect(estimate.status).toBe(200);
  });

  it("gives the owner back each extra image a job was sent (for Run again) under its field, 404 for one not sent, and nobody else", async () => {
    const style = await pngBlob("#22aa44", 18);
    const { body } = await execute({ workflow_id: "style-transfer", photo: file(jpegBlob(), "photo.jpg"), style: file(style, "my style.png") });
    const jobId = body.job_id!;
    const extra = (userToken: string, field: string, id = jobId) => routes.extraInput.GET(authed(userToken, `/jobs/${id}/input/${field}`), { params: Promise.resolve({ jobId: id, field }) });
    const served = await extra(token, "style");
    expect(served.status).toBe(200);
    expect(served.headers.get("content-type")).toBe("image/png");
    expect(served.headers.get("content-disposition")).toBe('inline; filename="my style.png"');
    expect(Buffer.from(await served.arrayBuffer()).equals(Buffer.from(await style.arrayBuffer()))).toBe(true);
    // The job's upload is still where it was, and its own field's name does not read it.
    const upload = await routes.input.GET(authed(token, `/jobs/${jobId}/input`), jobParams(jobId));
    expect([upload.status, upload.headers.get("content-disposition")]).toEqual([200, 'inline; filename="photo.jpg"']);

    const { token: otherToken } = await createUserWithToken(`image-inputs-other-${provider}@example.com`);
    for (const refused of [
      await extra(token, "mask"),
      await extra(token, "photo"),
      await extra(token, "texture"),
      await extra(token, "Not-A-Field"),
      await extra(otherToken, "style"),
      await extra(token, "style", crypto.randomUUID()),
      await extra(token, "style", "not-a-job"),
    ]) {
      expect(refused.status).toBe(404);
      expect(await refused.json()).toEqual({ success: false, error: { code: "not_found", message: expect.any(String) } });
    }
    const anonymous = await routes.extraInput.GET(new Request(`${BASE}/jobs/${jobId}/input/style`), { params: Promise.resolve({ jobId, field: "style" }) });
    expect(anonymous.status).toBe(401);
    await waitForJobStatus(jobId, ["completed"]);
  });

  it("replays an idempotent execute with extra images as the same job, and refuses the key with another extra image", async () => {
    const style = await pngBlob("#123456");
    const key = `image-inputs-${provider}`;
    const first = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style }, { "idempotency-key": key });
    expect(first.status).toBe(202);
    const again = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style }, { "idempotency-key": key });
    expect(again.body.job_id).toBe(first.body.job_id);
    const other = await execute({ workflow_id: "style-transfer", photo: jpegBlob(), style: await pngBlob("#654321") }, { "idempotency-key": key });
    expect(other.status).toBe(422);
    await waitForJobStatus(first.body.job_id!, ["completed"]);
  });

  it("lists every image field in the OpenAPI form and the workflow list: the job's upload and each extra", async () => {
    const openapi = await import("@/app/api/openapi.json/route");
    const document = (await (openapi.GET()).json()) as { components: { schemas: Record<string, { properties: Record<string, { format?: string; title?: string }>; required: string[] }> } };
    const form = document.components.schemas["Execute.style-transfer"]!;
    for (const field of ["photo", "style", "mask"]) expect(form.properties[field]).toMatchObject({ type: "string", format: "binary" });
    expect(form.properties.style!.title).toBe("Style reference");
    expect(form.required).toEqual(expect.arrayContaining(["photo", "style"]));
    expect(form.required).not.toContain("mask");
    const t2v = document.components.schemas["Execute.text-to-video"]!;
    expect(t2v.properties.subject_reference).toMatchObject({ type: "string", format: "binary", title: "Character reference" });
    expect(t2v.required).not.toContain("subject_reference");

    const list = (await (await routes.list.GET(authed(token, "/workflows/list"))).json()) as { workflows: { id: string; upload: unknown; inputs: { name: string; type: string }[] }[] };
    const listed = list.workflows.find((workflow) => workflow.id === "style-transfer")!;
    expect(listed.upload).toEqual({ field: "photo", required: true, label: "Photo" });
    expect(listed.inputs.filter((input) => input.type === "image").map((input) => input.name)).toEqual(["photo", "style", "mask"]);
  });

  it("runs Text to Video with a character reference: kept in storage and given to video-01, which insets it in the first frame; a file in another field is refused", async () => {
    const reference = await pngBlob("#ff00ff", 64);
    const { status, body } = await execute({ workflow_id: "text-to-video", prompt: "A knight on a hill", seed: "5", subject_reference: file(reference, "knight.png") });
    expect(status, JSON.stringify(body)).toBe(202);
    const done = await waitForJobStatus(body.job_id!, ["completed"], 60_000);
    expect(done.upload).toMatchObject({ filename: "knight.png", contentType: "image/png" });
    const kept = await rt.providers.storage.read(`jobs/${done.id}/1-video_generation-subject-reference.png`);
    expect(kept.body.equals(Buffer.from(await reference.arrayBuffer()))).toBe(true);
    expect((await rt.providers.storage.read(done.result!.video_url as string)).body.subarray(4, 8).toString("latin1")).toBe("ftyp");

    const before = await stored();
    expect(await execute({ workflow_id: "text-to-video", prompt: "x", file: jpegBlob() })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("`subject_reference`") } } });
    expect(await stored()).toEqual(before);
  });
});
