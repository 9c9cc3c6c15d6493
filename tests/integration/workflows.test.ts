import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Runtime } from "@/lib/server/runtime";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "../helpers/db";
import { authed, BASE, createUserWithToken, eventsOf, executeRequest, jobParams, jpegBlob, waitForJobStatus } from "../helpers/api";

/**
 * Text to Video and Product Shots end to end on the local providers, through the routes, on both
 * databases: a workflow without an upload, a parked step resumed without re-running earlier ones,
 * model choice (default, allowed, refused), and the config-built validation of every input type
 * (a 4xx naming the field, nothing stored).
 */
describe.each<Provider>(["sqlite", "postgresql"])("workflows on %s", (provider) => {
  let database: TestDatabase;
  let rt: Runtime;
  let routes: Awaited<ReturnType<typeof loadRoutes>>;
  let userId: string;
  let token: string;

  async function loadRoutes() {
    return {
      execute: await import("@/app/workflows/execute/route"),
      estimate: await import("@/app/workflows/estimate/route"),
      retry: await import("@/app/workflows/retry/[jobId]/route"),
      rerun: await import("@/app/workflows/rerun/[jobId]/route"),
      details: await import("@/app/workflows/execution/[jobId]/route"),
      pick: await import("@/app/workflows/pick/[jobId]/route"),
      list: await import("@/app/workflows/list/route"),
      openapi: await import("@/app/api/openapi.json/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    // Each new workflow's first model call of one kind fails once, so a step parks; the sweep never fires by itself here.
    rt = await useTestEnvironment(database, { LOCAL_PROVIDER_FAULTS: "upscale:outage:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" });
    routes = await loadRoutes();
    ({ userId, token } = await createUserWithToken(`workflows-${provider}@example.com`));
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  async function execute(fields: Record<string, string | Blob>) {
    const response = await routes.execute.POST(executeRequest(token, fields));
    return { status: response.status, body: (await response.json()) as { job_id?: string; error?: { code: string; message: string } } };
  }

  async function media(url: string): Promise<Buffer> {
    return (await rt.providers.storage.read(url)).body;
  }

  /** A product photo as people take them: the product (a red mug-like shape) on a plain light backdrop, as a JPEG. */
  async function productPhoto(): Promise<Blob> {
    const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360"><rect width="480" height="360" fill="#f2f2f0"/><rect x="170" y="90" width="140" height="190" rx="18" fill="#c0392b"/><rect x="300" y="140" width="50" height="80" rx="20" fill="none" stroke="#c0392b" stroke-width="16"/></svg>`;
    return jpegBlob(await sharp(Buffer.from(svg)).jpeg({ quality: 90 }).toBuffer());
  }

  const jobCount = async () => (await rt.store.listJobs(userId, { limit: 100 })).jobs.length;

  it("runs Text to Video without a file: an image from the prompt at the chosen ratio, then a video; the random seed is recorded", async () => {
    const { status, body } = await execute({ workflow_id: "text-to-video", prompt: "A red fox in fresh snow", aspect_ratio: "16:9" });
    expect(status).toBe(202);
    const done = await waitForJobStatus(body.job_id!, ["completed"], 60_000);
    expect(done.upload).toBeNull();
    expect(done.inputs.seed).toMatch(/^\d+$/);
    expect(done.inputs).toMatchObject({ aspect_ratio: "16:9", image_steps: "4", prompt_optimizer: "true" });
    expect(done.models).toEqual({ image_generation: "black-forest-labs/flux-schnell" });
    const image = await media(done.layout["0"]!.output!.image_url as string);
    expect(await sharp(image).metadata()).toMatchObject({ format: "png", width: 768, height: 432 });
    const video = await media(done.result!.video_url as string);
    expect(video.subarray(4, 8).toString("latin1")).toBe("ftyp");
  });

  it("the same prompt and seed give the same image; another seed another", async () => {
    const run = async (seed: string) => {
      const { body } = await execute({ workflow_id: "text-to-video", prompt: "A lighthouse", aspect_ratio: "1:1", seed });
      const done = await waitForJobStatus(body.job_id!, ["completed"], 60_000);
      expect(done.inputs.seed).toBe(seed);
      return media(done.layout["0"]!.output!.image_url as string);
    };
    const [a, b, c] = [await run("42"), await run("42"), await run("43")];
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it("refuses a misnamed file for Text to Video, and a missing or misnamed photo for Product Shots, storing nothing", async () => {
    const before = await jobCount();
    // Text to Video's one file is its optional character reference, in the field of that name.
    expect(await execute({ workflow_id: "text-to-video", prompt: "x", file: jpegBlob() })).toMatchObject({ status: 400, body: { error: { code: "invalid_form", message: expect.stringContaining("`subject_reference`") } } });
    expect(await execute({ workflow_id: "product-shots" })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("`photo`") } } });
    expect(await execute({ workflow_id: "product-shots", file: jpegBlob() })).toMatchObject({ status: 400, body: { error: { message: expect.stringContaining("`photo`") } } });
    expect(await execute({ workflow_id: "product-shots", photo: "not a file" })).toMatchObject({ status: 400, body: { error: { message: "Attach the image as the form field `photo`." } } });
    const estimate = await routes.estimate.POST(
      new Request(`${BASE}/workflows/estimate`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ workflow_id: "product-shots", photo: "x" }) }),
    );
    expect(((await estimate.json()) as { error: { message: string } }).error.message).toBe("photo: send the image as a file, not as text.");
    // Image Edit to Video still needs its file.
    expect(await execute({ workflow_id: "img-edit-to-video" })).toMatchObject({ status: 400, body: { error: { message: "Attach the image as the form field `file`." } } });
    expect(await jobCount()).toBe(before);
  });

  it("runs Product Shots: a real alpha cutout, three scenes to pick from, then twice the resolution; the upscale parks once and resumes alone", async () => {
    const { status, body } = await execute({ workflow_id: "product-shots", photo: await productPhoto(), scene_prompt: "On a beach at sunset", seed: "7" });
    expect(status).toBe(202);
    const jobId = body.job_id!;
    // The scene step runs as 3 candidates by default (config.json), each with its own seed, so the three differ.
    const waiting = await waitForJobStatus(jobId, ["awaiting_input"], 60_000);
    const offered = (waiting.layout["2"] as { candidates?: { candidate: number; status: string; output?: Record<string, unknown> }[] }).candidates!;
    expect(offered.map((entry) => [entry.candidate, entry.status])).toEqual([[1, "completed"], [2, "completed"], [3, "completed"]]);
    const scenes = await Promise.all(offered.map((entry) => media(entry.output!.scene_url as string)));
    expect(new Set(scenes.map((scene) => scene.toString("base64"))).size).toBe(3);
    const picked = await routes.pick.POST(
      authed(token, `/workflows/pick/${jobId}`, { method: "POST", body: JSON.stringify({ step: "scene", candidate: 2 }), headers: { "content-type": "application/json" } }),
      jobParams(jobId),
    );
    expect(picked.status).toBe(200);

    const parked = await waitForJobStatus(jobId, ["pending_retry"], 60_000);
    expect(parked.layout["3"]).toMatchObject({ status: "failed_retryable", error_reason: "outage" });
    const retried = await routes.retry.POST(authed(token, `/workflows/retry/${jobId}`, { method: "POST" }), jobParams(jobId));
    expect(retried.status).toBe(200);
    const done = await waitForJobStatus(jobId, ["completed"], 60_000);
    // The picked candidate is the step's output, and what the upscale took.
    expect(done.layout["2"]!.output!.scene_url).toBe(offered[1]!.output!.scene_url);

    const cutout = await sharp(await media(done.layout["1"]!.output!.cutout_url as string)).raw().toBuffer({ resolveWithObject: true });
    expect(cutout.info.channels).toBe(4);
    const alphas = new Set<number>();
    for (let i = 3; i < cutout.data.length; i += 4) alphas.add(cutout.data[i]!);
    // The backdrop is gone (transparent), the product kept (opaque), with soft edges between.
    expect(alphas.has(0)).toBe(true);
    expect(alphas.has(255)).toBe(true);
    const at = (x: number, y: number) => cutout.data[(y * cutout.info.width + x) * 4 + 3];
    expect([at(10, 10), at(240, 200)]).toEqual([0, 255]);

    const scene = await sharp(await media(done.layout["2"]!.output!.scene_url as string)).metadata();
    const large = await sharp(await media(done.result!.image_url as string)).metadata();
    expect({ width: large.width, height: large.height }).toEqual({ width: scene.width * 2, height: scene.height * 2 });

    // Steps 0 and 1 ran once, each scene candidate once (the pick ran nothing); the upscale twice (the outage, then the retry).
    const starts = (await eventsOf(jobId, "progress"))
      .map((event) => event.data as { step: number; step_progress: number; message?: string; candidate?: number })
      .filter((data) => data.step_progress === 0 && data.message !== "Queued" && data.message !== "Retry requested" && !data.message?.startsWith("Reading"))
      .map((data) => (data.candidate ? `${data.step}.${data.candidate}` : `${data.step}`));
    expect(starts.slice(0, 2)).toEqual(["0", "1"]);
    expect(starts.slice(2, 5).sort()).toEqual(["2.1", "2.2", "2.3"]);
    expect(starts.slice(5)).toEqual(["3", "3"]);

    const details = (await (await routes.details.GET(authed(token, `/workflows/execution/${jobId}`), jobParams(jobId))).json()) as { job: { result: Record<string, unknown>; input_file: unknown; models: Record<string, string> } };
    expect(details.job.result).toEqual({ image_url: expect.any(String) });
    expect(details.job.input_file).toMatchObject({ content_type: "image/jpeg" });
    expect(details.job.models).toEqual({ background_removal: "851-labs/background-remover" });
  });

  it("model choice: the default, an allowed one (recorded and run), and one outside the list refused", async () => {
    const chosen = await execute({ workflow_id: "text-to-video", prompt: "A city at night", "models[image_generation]": "black-forest-labs/flux-dev" });
    expect(chosen.status).toBe(202);
    const done = await waitForJobStatus(chosen.body.job_id!, ["completed"], 60_000);
    expect(done.models).toEqual({ image_generation: "black-forest-labs/flux-dev" });

    const before = await jobCount();
    const refused = await execute({ workflow_id: "text-to-video", prompt: "x", "models[image_generation]": "stability-ai/sdxl" });
    expect(refused).toMatchObject({ status: 400, body: { error: { code: "invalid_form", message: expect.stringMatching(/^models\[image_generation\]: .*not a model this step allows/) } } });
    const noChoice = await execute({ workflow_id: "text-to-video", prompt: "x", "models[video_generation]": "minimax/video-01" });
    expect(noChoice.body.error?.message).toMatch(/^models\[video_generation\]: the step video_generation offers no choice/);
    const noStep = await execute({ workflow_id: "text-to-video", prompt: "x", "models[nope]": "a/b" });
    expect(noStep.body.error?.message).toMatch(/^models\[nope\]: this workflow has no step/);
    expect(await jobCount()).toBe(before);
  });

  it("refuses each input type's bad values with a 4xx naming the field, storing nothing", async () => {
    const before = await jobCount();
    const cases: [Record<string, string>, string][] = [
      [{ prompt: " " }, "prompt: is required."],
      [{ prompt: "x".repeat(1001) }, "prompt: is longer than 1000 characters."],
      [{ video_prompt: "y".repeat(501) }, "video_prompt: is longer than 500 characters."],
      [{ aspect_ratio: "2:1" }, "aspect_ratio: must be one of 16:9, 1:1, 9:16"],
      [{ image_steps: "five" }, "image_steps: must be a number"],
      [{ image_steps: "9" }, "image_steps: must be at most 4"],
      [{ image_steps: "0" }, "image_steps: must be at least 1"],
      [{ image_steps: "2.5" }, "image_steps: must be 1 plus a multiple of 1"],
      [{ prompt_optimizer: "maybe" }, "prompt_optimizer: must be true or false"],
      [{ seed: "-1" }, "seed: must be a whole number from 0 to 2147483647"],
      [{ seed: "4294967296" }, "seed: must be a whole number"],
      [{ seed: "1e3" }, "seed: must be a whole number"],
      [{ colour: "red" }, "Unknown field colour"],
    ];
    for (const [fields, message] of cases) {
      const answer = await execute({ workflow_id: "text-to-video", prompt: "ok", ...fields });
      expect(answer.status, JSON.stringify(fields)).toBe(400);
      expect(answer.body.error?.message, JSON.stringify(fields)).toContain(message);
    }
    // The estimate checks the same way, and rerun inputs too (422 there).
    const estimate = await routes.estimate.POST(
      new Request(`${BASE}/workflows/estimate`, { method: "POST", headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: JSON.stringify({ workflow_id: "text-to-video", seed: -5, models: { image_generation: "black-forest-labs/flux-dev" } }) }),
    );
    expect(estimate.status).toBe(400);
    expect(((await estimate.json()) as { error: { message: string } }).error.message).toContain("seed: must be a whole number");
    expect(await jobCount()).toBe(before);
  });

  it("a rerun checks its changed inputs by type and keeps the parent's models", async () => {
    const { body } = await execute({ workflow_id: "text-to-video", prompt: "Waves", seed: "3", "models[image_generation]": "black-forest-labs/flux-dev" });
    const parentId = body.job_id!;
    await waitForJobStatus(parentId, ["completed"], 60_000);
    const rerun = (inputs: Record<string, string>) =>
      routes.rerun.POST(authed(token, `/workflows/rerun/${parentId}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ from_step: 0, inputs }) }), jobParams(parentId));
    const before = await jobCount();
    const refused = await rerun({ aspect_ratio: "3:1" });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain("aspect_ratio: must be one of");
    expect(await jobCount()).toBe(before);
    const accepted = await rerun({ aspect_ratio: "9:16" });
    expect(accepted.status).toBe(202);
    const child = await waitForJobStatus(((await accepted.json()) as { job_id: string }).job_id, ["completed"], 60_000);
    expect(child.inputs).toMatchObject({ aspect_ratio: "9:16", seed: "3" });
    expect(child.models).toEqual({ image_generation: "black-forest-labs/flux-dev" });
  });

  it("lists three workflows with their typed inputs, upload and model choices, and the OpenAPI document describes each", async () => {
    const listed = (await (await routes.list.GET(authed(token, "/workflows/list"))).json()) as {
      workflows: { id: string; upload: { field: string; required: boolean } | null; inputs: { name: string; type: string }[]; steps: { name: string; models?: { model: string; estimated_usd: number | null }[] }[] }[];
    };
    expect(listed.workflows.map((workflow) => workflow.id).sort()).toEqual(["img-edit-to-video", "product-shots", "text-to-video"]);
    const textToVideo = listed.workflows.find((workflow) => workflow.id === "text-to-video")!;
    // Its one image input, the optional character reference, is the job's upload when sent.
    expect(textToVideo.upload).toEqual({ field: "subject_reference", required: false, label: "Character reference" });
    expect(textToVideo.inputs.map((input) => input.type)).toEqual(["textarea", "select", "text", "number", "boolean", "seed", "image"]);
    expect(textToVideo.steps[0]!.models!.map((choice) => choice.model)).toEqual(["black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"]);
    expect(listed.workflows.find((workflow) => workflow.id === "product-shots")!.upload).toEqual({ field: "photo", required: true, label: "Product photo" });
    expect(listed.workflows.find((workflow) => workflow.id === "img-edit-to-video")!.upload).toEqual({ field: "file", required: true, label: "Image" });

    const doc = (await routes.openapi.GET().json()) as { components: { schemas: Record<string, { properties: Record<string, Record<string, unknown>>; required: string[] }> } };
    const form = doc.components.schemas["Execute.text-to-video"]!;
    expect(form.properties.aspect_ratio).toMatchObject({ type: "string", enum: ["16:9", "1:1", "9:16"], default: "16:9" });
    expect(form.properties.image_steps).toMatchObject({ type: "integer", minimum: 1, maximum: 4, default: 4 });
    expect(form.properties.prompt_optimizer).toMatchObject({ type: "boolean", default: true });
    expect(form.properties.seed).toMatchObject({ type: "integer", minimum: 0, maximum: 2147483647 });
    expect(form.properties["models[image_generation]"]).toMatchObject({ enum: ["black-forest-labs/flux-schnell", "black-forest-labs/flux-dev"] });
    expect(form.properties.file).toBeUndefined();
    expect(form.properties.subject_reference).toMatchObject({ type: "string", format: "binary" });
    expect(form.required).not.toContain("subject_reference");
    expect(doc.components.schemas["Execute.product-shots"]!.required).toContain("photo");
  });
});
