/**
 * POST /workflows/rerun/<job_id> through the real route handlers, on real SQLite and PostgreSQL,
 * with the production providers (the real `replicate` and `cloudinary` SDKs) against the local
 * fakes and the in-process runner: a rerun takes the parent's earlier steps as its own checkpoints
 * and calls no provider for them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cancelJob } from "@/lib/jobs/service";
import { runtime } from "@/lib/server/runtime";
import { creationsOf, IMAGE_MODEL, startImageToVideo, startProductionStack, VIDEO_MODEL, waitForJob, type ProductionStack } from "@/tests/fakes/production-stack";
import { authed, createUserWithToken, eventsOf, jobParams } from "@/tests/helpers/api";
import { closeTestEnvironment, createTestDatabase, useTestEnvironment, type Provider, type TestDatabase } from "@/tests/helpers/db";

let stack: ProductionStack;

beforeAll(async () => {
  stack = await startProductionStack();
});

afterAll(async () => {
  await stack.stop();
});

describe.each<Provider>(["sqlite", "postgresql"])("rerun from a step on %s", (provider) => {
  let database: TestDatabase;
  let alice: { userId: string; token: string };
  let bob: { userId: string; token: string };
  let routes: Awaited<ReturnType<typeof loadRoutes>>;

  async function loadRoutes() {
    return {
      rerun: await import("@/app/workflows/rerun/[jobId]/route"),
      execution: await import("@/app/workflows/execution/[jobId]/route"),
      jobs: await import("@/app/jobs/route"),
    };
  }

  beforeAll(async () => {
    database = await createTestDatabase(provider);
    await useTestEnvironment(database, stack.env());
    routes = await loadRoutes();
    alice = await createUserWithToken(`rerun-alice-${provider}@example.com`);
    bob = await createUserWithToken(`rerun-bob-${provider}@example.com`);
  });

  afterAll(async () => {
    await closeTestEnvironment();
    await database.drop();
  });

  function rerunJson(token: string, jobId: string, body: unknown, contentType = "application/json") {
    const request = authed(token, `/workflows/rerun/${jobId}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": contentType } });
    return routes.rerun.POST(request, jobParams(jobId));
  }

  async function details(token: string, jobId: string) {
    const response = await routes.execution.GET(authed(token, `/workflows/execution/${jobId}`), jobParams(jobId));
    return { status: response.status, body: (await response.json()) as { job: Record<string, unknown>; reruns: unknown[] } };
  }

  /** Rows a refused request must leave as they were. */
  async function counts() {
    const { prisma } = runtime();
    return { jobs: await prisma.job.count(), uploads: await prisma.upload.count(), events: await prisma.jobEvent.count(), checkpoints: await prisma.checkpoint.count() };
  }

  async function completedParent(): Promise<string> {
    const jobId = await startImageToVideo(alice.userId, stack.photo);
    await waitForJob(jobId, "completed");
    return jobId;
  }

  it("reruns from video_generation with a new prompt: no image-edit prediction, no new upload, lineage both ways", async () => {
    const parentId = await completedParent();
    const parent = await waitForJob(parentId, "completed");
    const imageEdits = creationsOf(stack.replicate, IMAGE_MODEL);
    const videos = creationsOf(stack.replicate, VIDEO_MODEL);
    const uploads = stack.cloudinary.uploads;

    const response = await rerunJson(alice.token, parentId, { from_step: "video_generation", inputs: { video_prompt: "Fast orbit around the subject" } });
    expect(response.status).toBe(202);
    const body = (await response.json()) as { job_id: string };
    expect(body).toEqual({ success: true, job_id: expect.any(String), stream_url: `/jobs/${body.job_id}/stream`, parent_job_id: parentId });
    const rerun = await waitForJob(body.job_id, "completed");

    expect(creationsOf(stack.replicate, IMAGE_MODEL)).toBe(imageEdits);
    expect(creationsOf(stack.replicate, VIDEO_MODEL)).toBe(videos + 1);
    const video = [...stack.replicate.predictions.values()].at(-1)!.json;
    expect(video.input).toMatchObject({ prompt: "Fast orbit around the subject", first_frame_image: parent.layout["1"]!.output!.edited_image_url });
    // Only the new video reached Cloudinary: the input image was not uploaded again.
    expect(stack.cloudinary.uploads).toBe(uploads + 1);
    expect(stack.cloudinary.asset("image", `montage/jobs/${rerun.id}/0-upload`)).toBeUndefined();
    expect(stack.cloudinary.asset("video", `montage/jobs/${rerun.id}/2-video_generation`)).toBeDefined();

    expect(rerun.inputs).toEqual({ edit_prompt: "Make it golden hour", video_prompt: "Fast orbit around the subject" });
    expect(rerun.layout["0"]).toMatchObject({ status: "completed", output: parent.layout["0"]!.output });
    expect(rerun.layout["1"]).toMatchObject({ status: "completed", output: parent.layout["1"]!.output });
    expect((rerun.result as { video_url: string }).video_url).toContain(`/jobs/${rerun.id}/2-video_generation`);
    // The stream shows the copied steps done, then the rerun's own step.
    const checkpoints = await eventsOf(rerun.id, "checkpoint");
    expect(checkpoints.map((event) => event.data.step)).toEqual([0, 1, 2]);

    const child = await details(alice.token, rerun.id);
    expect(child.body.job).toMatchObject({ parent_job_id: parentId, rerun_from_step: 2 });
    expect(child.body.reruns).toEqual([]);
    const mother = await details(alice.token, parentId);
    expect(mother.body.job).toMatchObject({ parent_job_id: null, rerun_from_step: null });
    expect(mother.body.reruns).toEqual([{ job_id: rerun.id, status: "completed", rerun_from_step: 2, created_at: expect.any(String) }]);
    const list = (await (await routes.jobs.GET(authed(alice.token, "/jobs?limit=100"))).json()) as { jobs: { id: string; parent_job_id: string | null }[] };
    expect(list.jobs.find((job) => job.id === rerun.id)?.parent_job_id).toBe(parentId);
  });

  it("takes a multipart form too, with inputs[<name>] fields and from_step as an index", async () => {
    const parentId = await completedParent();
    const imageEdits = creationsOf(stack.replicate, IMAGE_MODEL);
    const form = new FormData();
    form.append("from_step", "1");
    form.append("inputs[edit_prompt]", "Make it a pencil sketch");
    const response = await routes.rerun.POST(authed(alice.token, `/workflows/rerun/${parentId}`, { method: "POST", body: form }), jobParams(parentId));
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    const rerun = await waitForJob(jobId, "completed");
    expect(rerun).toMatchObject({ rerunFromStep: 1, inputs: { edit_prompt: "Make it a pencil sketch", video_prompt: "Slow push-in" } });
    expect(creationsOf(stack.replicate, IMAGE_MODEL)).toBe(imageEdits + 1);
    const edit = [...stack.replicate.predictions.values()].filter((prediction) => prediction.json.model === IMAGE_MODEL).at(-1)!.json;
    expect(edit.input).toMatchObject({ prompt: "Make it a pencil sketch" });
  });

  it("reruns a failed parent from its first incomplete step, not past it", async () => {
    stack.replicate.fail({ route: "create", status: 422, times: 1, detail: "The prompt was refused" });
    const parentId = await startImageToVideo(alice.userId, stack.photo);
    const failed = await waitForJob(parentId, "failed");
    stack.replicate.clearFailures();
    expect(failed.layout["1"]?.status).toBe("failed");

    const before = await counts();
    const past = await rerunJson(alice.token, parentId, { from_step: "video_generation" });
    expect(past.status).toBe(422);
    expect(await past.json()).toEqual({ success: false, error: { code: "invalid_input", message: expect.stringContaining("rerun from step 1 (image_edit) or earlier") } });
    expect(await counts()).toEqual(before);

    const uploads = stack.cloudinary.uploads;
    const response = await rerunJson(alice.token, parentId, { from_step: "image_edit", inputs: { edit_prompt: "A gentler prompt" } });
    expect(response.status).toBe(202);
    const rerun = await waitForJob(((await response.json()) as { job_id: string }).job_id, "completed");
    expect(rerun.layout["0"]).toMatchObject({ status: "completed", output: failed.layout["0"]!.output });
    // The edited image and the video: the input was not uploaded again.
    expect(stack.cloudinary.uploads).toBe(uploads + 2);
  });

  it("reruns a canceled parent from its first step", async () => {
    stack.replicate.completeAfter = { polls: 1_000_000 };
    const parentId = await startImageToVideo(alice.userId, stack.photo);
    try {
      await waitForJob(parentId, (job) => job.layout["1"]?.status === "running");
      await cancelJob(runtime(), alice.userId, parentId);
    } finally {
      stack.replicate.completeAfter = { polls: 2 };
    }
    const parent = await waitForJob(parentId, "canceled");
    const response = await rerunJson(alice.token, parentId, { from_step: 0 });
    expect(response.status).toBe(202);
    const rerun = await waitForJob(((await response.json()) as { job_id: string }).job_id, "completed");
    expect(rerun).toMatchObject({ parentJobId: parent.id, rerunFromStep: 0 });
    expect(stack.cloudinary.asset("image", `montage/jobs/${rerun.id}/0-upload`)?.bytes.equals(stack.photo)).toBe(true);
  });

  it("refuses bad bodies, unknown steps and inputs, active parents and other users' jobs, changing nothing", async () => {
    const parentId = await completedParent();
    const before = await counts();
    const refusals: [unknown, string, number, string][] = [
      ["{not json", "application/json", 400, "invalid_json"],
      [{}, "application/json", 400, "invalid_request"],
      [{ from_step: -1 }, "application/json", 400, "invalid_request"],
      [{ from_step: 2, extra: true }, "application/json", 400, "invalid_request"],
      [{ from_step: 2, inputs: { video_prompt: 3 } }, "application/json", 400, "invalid_request"],
      [[1, 2], "application/json", 400, "invalid_request"],
      ["from_step=2", "text/plain", 415, "unsupported_media_type"],
      [{ from_step: 3 }, "application/json", 422, "invalid_input"],
      [{ from_step: "no_such_step" }, "application/json", 422, "invalid_input"],
      [{ from_step: 2, inputs: { style: "noir" } }, "application/json", 422, "invalid_input"],
      [{ from_step: 2, inputs: { video_prompt: "x".repeat(1001) } }, "application/json", 422, "invalid_input"],
    ];
    for (const [body, contentType, status, code] of refusals) {
      const response = await rerunJson(alice.token, parentId, body, contentType);
      expect({ body, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ body, status, code });
    }
    // Another user's job, or none: 404 whatever the body.
    for (const jobId of [parentId, "00000000-0000-4000-8000-000000000000"]) {
      const response = await rerunJson(bob.token, jobId, { from_step: 2 });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ success: false, error: { code: "not_found", message: "No such job." } });
    }
    expect((await details(bob.token, parentId)).status).toBe(404);
    expect(await counts()).toEqual(before);

    // A parent still running is refused with 409 (it is still writing the checkpoints a rerun would copy).
    stack.replicate.completeAfter = { polls: 1_000_000 };
    try {
      const running = await startImageToVideo(alice.userId, stack.photo);
      await waitForJob(running, (job) => job.layout["1"]?.status === "running");
      // The running job writes its own progress meanwhile: count the rows a rerun would add.
      const rerunRows = async () => (({ jobs, uploads }) => ({ jobs, uploads }))(await counts());
      const beforeActive = await rerunRows();
      const response = await rerunJson(alice.token, running, { from_step: 0 });
      expect(response.status).toBe(409);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("wrong_state");
      expect(await rerunRows()).toEqual(beforeActive);
      await cancelJob(runtime(), alice.userId, running);
      await waitForJob(running, "canceled");
    } finally {
      stack.replicate.completeAfter = { polls: 2 };
    }
  });
});
