/**
 * Candidates through the real route handlers, on real SQLite and PostgreSQL, with the in-process
 * runner and the local providers: a step runs as 1-4 candidates side by side (each its own
 * checkpoint row), the job waits as awaiting_input (durable, untouched by recovery and the sweep),
 * a pick carries the chosen output forward without spending an attempt, auto_pick takes the first
 * that succeeded, and of concurrent picks and cancels exactly one wins. Then the same on the
 * Replicate and Cloudinary fakes (real SDKs), and a kill -9 with 2 of 3 candidates done.
 */
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createJob } from "@/lib/jobs/service";
import { openGate } from "@/lib/providers/local/faults";
import { runtime } from "@/lib/server/runtime";
import { creationsOf, IMAGE_MODEL, VIDEO_MODEL, waitForJob } from "@/tests/fakes/production-stack";
import { authed, eventsOf, FIXTURE_JPEG, jobParams, jpegBlob, readJob, waitForJobStatus } from "../helpers/api";
import { inProcessRunner, useTestEnvironment, type Provider } from "../helpers/db";
import { useProductionStackSuite, useRouteSuite, useServerSuite } from "../helpers/suites";

interface Details {
  job: { status: string; awaiting: { kind: string; since: string; until: string | null } | null; candidates: { steps: Record<string, number>; auto_pick: boolean }; attempts: number };
  execution: { current_step: number; retry_count: number };
  checkpoints: Record<string, { status: string; output?: Record<string, string>; candidates?: { candidate: number; status: string; output?: Record<string, string> }[]; picked_candidate?: number }>;
}

describe.each<Provider>(["sqlite", "postgresql"])("candidates on %s", (provider) => {
  const env = { LOCAL_PROVIDER_FAULTS: "", WORKFLOW_RETRY_INTERVAL_SECONDS: "300" };
  const suite = useRouteSuite(provider, {
    users: "cand",
    env,
    loadRoutes: async () => ({
      execute: await import("@/app/workflows/execute/route"),
      pick: await import("@/app/workflows/pick/[jobId]/route"),
      cancel: await import("@/app/workflows/cancel/[jobId]/route"),
      rerun: await import("@/app/workflows/rerun/[jobId]/route"),
      estimate: await import("@/app/workflows/estimate/route"),
      execution: await import("@/app/workflows/execution/[jobId]/route"),
    }),
  });

  async function execute(fields: Record<string, string>): Promise<Response> {
    const form = new FormData();
    for (const [name, value] of Object.entries({ workflow_id: "img-edit-to-video", ...fields })) form.append(name, value);
    form.append("file", jpegBlob(), "photo.jpg");
    return suite.routes.execute.POST(authed(suite.alice.token, "/workflows/execute", { method: "POST", body: form }));
  }

  async function executeWaiting(count = 3): Promise<string> {
    const response = await execute({ [`candidates[image_edit]`]: String(count) });
    expect(response.status, await response.clone().text()).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    await waitForJobStatus(jobId, ["awaiting_input"]);
    return jobId;
  }

  function pick(token: string, jobId: string, body: unknown, contentType = "application/json") {
    return suite.routes.pick.POST(
      authed(token, `/workflows/pick/${jobId}`, { method: "POST", body: typeof body === "string" ? body : JSON.stringify(body), headers: { "content-type": contentType } }),
      jobParams(jobId),
    );
  }

  const cancel = (jobId: string) => suite.routes.cancel.POST(authed(suite.alice.token, `/workflows/cancel/${jobId}`, { method: "POST" }), jobParams(jobId));
  const details = async (jobId: string) => (await (await suite.routes.execution.GET(authed(suite.alice.token, `/workflows/execution/${jobId}`), jobParams(jobId))).json()) as Details;

  async function counts() {
    const { prisma } = runtime();
    return { jobs: await prisma.job.count(), events: await prisma.jobEvent.count(), checkpoints: await prisma.checkpoint.count(), statuses: (await prisma.job.findMany({ select: { status: true } })).map((job) => job.status).sort() };
  }

  it("runs three candidates side by side, waits as awaiting_input through a restart, and carries the picked one forward without spending an attempt", async () => {
    const jobId = await executeWaiting(3);
    const waiting = await details(jobId);
    expect(waiting.job).toMatchObject({ status: "awaiting_input", awaiting: { kind: "pick", since: expect.any(String), until: null }, candidates: { steps: { "1": 3 }, auto_pick: false } });
    expect(waiting.execution).toMatchObject({ current_step: 1, retry_count: 0 });
    // The step's own entry has no output until the pick; its candidates are listed under it.
    const entry = waiting.checkpoints["1"]!;
    expect(entry.output).toBeUndefined();
    expect(entry.candidates!.map((candidate) => [candidate.candidate, candidate.status])).toEqual([
      [1, "completed"],
      [2, "completed"],
      [3, "completed"],
    ]);
    const urls = entry.candidates!.map((candidate) => candidate.output!.edited_image_url!);
    expect(new Set(urls).size).toBe(3);
    expect(urls[1]).toContain(`/jobs/${jobId}/1-image_edit-c2.png`);
    const [awaiting] = await eventsOf(jobId, "awaiting");
    expect(awaiting!.data).toMatchObject({ status: "awaiting_input", awaiting: "pick", step: 1, step_name: "image_edit", candidates: entry.candidates!.map(({ candidate, output }) => ({ candidate, status: "completed", output })) });
    // Candidate events carry the candidate's number.
    expect((await eventsOf(jobId, "checkpoint")).filter((event) => event.data.step === 1).map((event) => event.data.candidate).sort()).toEqual([1, 2, 3]);

    // A new process on the same database: the wait is durable; recovery and the sweep leave it alone.
    const rt = await useTestEnvironment(suite.database, env);
    await inProcessRunner(rt).tick();
    await inProcessRunner(rt).idle();
    expect((await waitForJobStatus(jobId, ["awaiting_input"])).status).toBe("awaiting_input");

    const response = await pick(suite.alice.token, jobId, { step: "image_edit", candidate: 2 });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { job: { status: string } }).job.status).toBe("running");
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done).toMatchObject({ retryCount: 0, awaitingSince: null });
    // Clients that do not know candidates read the picked output at the step's key.
    expect(done.layout["1"]).toMatchObject({ status: "completed", output: { edited_image_url: urls[1] }, picked_candidate: 2 });
    expect((await eventsOf(jobId, "checkpoint")).some((event) => event.data.step === 1 && event.data.picked_candidate === 2 && event.data.picked_by === "user")).toBe(true);
    expect((await details(jobId)).job.attempts).toBe(1);
    // Picked once: a second pick is refused.
    expect((await pick(suite.alice.token, jobId, { step: 1, candidate: 1 })).status).toBe(409);
  });

  it("with auto_pick takes the first candidate that succeeded and never waits", async () => {
    const response = await execute({ "candidates[image_edit]": "2", auto_pick: "true" });
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.layout["1"]).toMatchObject({ status: "completed", picked_candidate: 1 });
    expect(done.layout["1"]!.candidates).toHaveLength(2);
    expect(await eventsOf(jobId, "awaiting")).toEqual([]);
    expect((await eventsOf(jobId, "checkpoint")).some((event) => event.data.picked_by === "auto" && event.data.picked_candidate === 1)).toBe(true);
  });

  it("takes candidates on a rerun (JSON) for the steps it runs", async () => {
    const parent = await executeWaiting(2);
    expect((await pick(suite.alice.token, parent, { step: 1, candidate: 1 })).status).toBe(200);
    await waitForJobStatus(parent, ["completed"]);
    const response = await suite.routes.rerun.POST(
      authed(suite.alice.token, `/workflows/rerun/${parent}`, {
        method: "POST",
        body: JSON.stringify({ from_step: "video_generation", candidates: { video_generation: 2 }, auto_pick: true }),
        headers: { "content-type": "application/json" },
      }),
      jobParams(parent),
    );
    expect(response.status, await response.clone().text()).toBe(202);
    const { job_id: child } = (await response.json()) as { job_id: string };
    const done = await waitForJobStatus(child, ["completed"]);
    expect(done.candidates).toEqual({ steps: { 2: 2 }, autoPick: true });
    expect(done.layout["1"]!.candidates).toBeUndefined();
    expect(done.layout["2"]!.candidates).toHaveLength(2);
    // A rerun's candidates are checked as execute's: a count outside 1-4 is refused (steps before from_step are copied, so their counts are dropped).
    const refused = await suite.routes.rerun.POST(
      authed(suite.alice.token, `/workflows/rerun/${parent}`, { method: "POST", body: JSON.stringify({ from_step: 2, candidates: { video_generation: 9 } }), headers: { "content-type": "application/json" } }),
      jobParams(parent),
    );
    expect(refused.status).toBe(422);
  });

  it("a pick racing a cancel: the cancel always holds (before the pick, the pick is refused; after it, the resumed run is canceled); of two picks exactly one wins", async () => {
    for (let round = 0; round < 3; round++) {
      const jobId = await executeWaiting(2);
      const [picked, canceled] = await Promise.all([pick(suite.alice.token, jobId, { step: 1, candidate: 2 }), cancel(jobId)]);
      expect(canceled.status).toBe(200);
      expect([200, 409]).toContain(picked.status);
      const job = await waitForJobStatus(jobId, ["canceled"]);
      // A pick that was applied left its mark (the step's own checkpoint); a refused one left none.
      const pickedRow = job.checkpoints.find((row) => row.stepIndex === 1 && row.candidate === 0 && row.status === "completed");
      expect(pickedRow !== undefined).toBe(picked.status === 200);
      // Nothing ran past the step after the cancel: the job never completes.
      expect(job.status).toBe("canceled");
    }
    const jobId = await executeWaiting(2);
    const [one, two] = await Promise.all([pick(suite.alice.token, jobId, { step: 1, candidate: 1 }), pick(suite.alice.token, jobId, { step: 1, candidate: 2 })]);
    expect([one.status, two.status].sort()).toEqual([200, 409]);
    const done = await waitForJobStatus(jobId, ["completed"]);
    expect(done.layout["1"]!.picked_candidate).toBe(one.status === 200 ? 1 : 2);
  });

  it("refuses bad bodies, other users and wrong steps, changing nothing; cancel works on a job awaiting a pick", async () => {
    const jobId = await executeWaiting(2);
    const before = await counts();
    const refusals: [unknown, string, number, string][] = [
      ["{nope", "application/json", 400, "invalid_json"],
      [{}, "application/json", 400, "invalid_request"],
      [{ step: 1 }, "application/json", 400, "invalid_request"],
      [{ step: 1, candidate: 0 }, "application/json", 400, "invalid_request"],
      [{ step: 1, candidate: 5 }, "application/json", 400, "invalid_request"],
      [{ step: 1, candidate: 1, extra: true }, "application/json", 400, "invalid_request"],
      [{ step: 1, candidate: 3 }, "application/json", 422, "invalid_input"],
      [{ step: "nope", candidate: 1 }, "application/json", 422, "invalid_input"],
      [{ step: 2, candidate: 1 }, "application/json", 409, "wrong_state"],
      [{ step: "upload", candidate: 1 }, "application/json", 409, "wrong_state"],
      ["step=1&candidate=1", "application/x-www-form-urlencoded", 415, "unsupported_media_type"],
    ];
    for (const [body, contentType, status, code] of refusals) {
      const response = await pick(suite.alice.token, jobId, body, contentType);
      expect({ body, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ body, status, code });
    }
    for (const id of [jobId, "00000000-0000-4000-8000-000000000000"]) {
      const response = await pick(suite.bob.token, id, { step: 1, candidate: 1 });
      expect(response.status).toBe(404);
      expect(await response.json()).toEqual({ success: false, error: { code: "not_found", message: "No such job." } });
    }
    // Execute refuses candidates for an unknown step, a step that forbids them, and counts outside 1-4: 422, nothing stored.
    const badFields: Record<string, string>[] = [
      { "candidates[nope]": "2" },
      { "candidates[upload]": "2" },
      { "candidates[image_edit]": "0" },
      { "candidates[image_edit]": "5" },
      { "candidates[image_edit]": "two" },
      { candidates: "[3]" },
      { candidates: '{"image_edit": 7}' },
      { "candidates[image_edit]": "2", auto_pick: "maybe" },
    ];
    for (const fields of badFields) {
      const response = await execute(fields);
      expect({ fields, status: response.status, code: ((await response.json()) as { error: { code: string } }).error.code }).toEqual({ fields, status: 422, code: "invalid_input" });
    }
    expect(await counts()).toEqual(before);

    const canceled = await cancel(jobId);
    expect(canceled.status).toBe(200);
    expect(await waitForJobStatus(jobId, ["canceled"])).toMatchObject({ errorCode: "canceled", awaitingSince: null });
    expect((await pick(suite.alice.token, jobId, { step: 1, candidate: 1 })).status).toBe(409);
  });

  it("bulk cancel takes jobs awaiting a pick", async () => {
    const jobId = await executeWaiting(2);
    const bulk = await import("@/app/jobs/cancel/route");
    const response = await bulk.POST(
      authed(suite.alice.token, "/jobs/cancel", { method: "POST", body: JSON.stringify({ status: ["awaiting_input"], job_ids: [jobId] }), headers: { "content-type": "application/json" } }),
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ success: true, matched: 1, canceled: 1, skipped: 0 });
    expect(await waitForJobStatus(jobId, ["canceled"])).toMatchObject({ awaitingSince: null });
  });

  it("estimates candidates per step: each is a separate run (JSON and form)", async () => {
    const ask = async (body: BodyInit, headers: Record<string, string> = {}) => {
      const response = await suite.routes.estimate.POST(authed(suite.alice.token, "/workflows/estimate", { method: "POST", body, headers }));
      return { status: response.status, body: (await response.json()) as { estimate?: { steps: { step_name: string; candidates: number }[] }; error?: { code: string } } };
    };
    const json = await ask(JSON.stringify({ workflow_id: "img-edit-to-video", candidates: { image_edit: 3 } }), { "content-type": "application/json" });
    expect(json.status).toBe(200);
    expect(json.body.estimate!.steps.map((step) => [step.step_name, step.candidates])).toEqual([
      ["upload", 1],
      ["image_edit", 3],
      ["video_generation", 1],
    ]);
    const form = new FormData();
    form.append("workflow_id", "img-edit-to-video");
    form.append("candidates[video_generation]", "2");
    expect((await ask(form)).body.estimate!.steps[2]!.candidates).toBe(2);
    const bad = await ask(JSON.stringify({ workflow_id: "img-edit-to-video", candidates: { upload: 2 } }), { "content-type": "application/json" });
    expect(bad.status).toBe(400);
  });
});

describe("candidates on Replicate and Cloudinary (the real SDKs against the fakes)", () => {
  const suite = useProductionStackSuite();

  it("creates one prediction per candidate, keeps each output apart on Cloudinary, and feeds the picked one to the video model", async () => {
    suite.stack.replicate.completeAfter = { polls: 2 };
    const rt = runtime();
    const user = await rt.prisma.user.create({ data: { email: "cand-production@example.com" } });
    const workflow = rt.findWorkflow("img-edit-to-video")!;
    const imagesBefore = creationsOf(suite.stack.replicate, IMAGE_MODEL);
    const { jobId } = await createJob(rt, {
      userId: user.id,
      workflow,
      inputs: { edit_prompt: "Make it golden hour", video_prompt: "Slow push-in" },
      upload: { filename: "photo.png", contentType: "image/png", data: suite.stack.photo, width: 320, height: 240 },
      candidates: { steps: { 1: 3 }, autoPick: false },
    });
    const waiting = await waitForJob(jobId, "awaiting_input");
    expect(creationsOf(suite.stack.replicate, IMAGE_MODEL) - imagesBefore).toBe(3);
    const urls = waiting.layout["1"]!.candidates!.map((candidate) => candidate.output!.edited_image_url as string);
    expect(urls.map((url) => url.replace(/^.*\/montage\//, ""))).toEqual([1, 2, 3].map((c) => `jobs/${jobId}/1-image_edit-c${c}.png`));
    for (const c of [1, 2, 3]) expect(suite.stack.cloudinary.asset("image", `montage/jobs/${jobId}/1-image_edit-c${c}`)).toBeDefined();
    const videosBefore = [...suite.stack.replicate.predictions.values()].length;

    const { pickFromRequest } = await import("@/lib/jobs/pick");
    const request = new Request("http://localhost/workflows/pick/x", { method: "POST", body: JSON.stringify({ step: "image_edit", candidate: 3 }), headers: { "content-type": "application/json" } });
    await pickFromRequest(rt, request, user.id, jobId);
    await waitForJob(jobId, "completed");
    const video = [...suite.stack.replicate.predictions.values()].slice(videosBefore).map((prediction) => prediction.json);
    expect(video.map((prediction) => prediction.model)).toEqual([VIDEO_MODEL]);
    expect(video[0]!.input).toMatchObject({ first_frame_image: urls[2] });
    expect(creationsOf(suite.stack.replicate, IMAGE_MODEL) - imagesBefore).toBe(3);
  });
});

describe("canceling a parked job with candidates", () => {
  const suite = useProductionStackSuite();

  it("cancels the prediction saved on every candidate's row", async () => {
    suite.stack.replicate.completeAfter = { polls: 1_000_000 };
    // Polling fails (after the SDK's own retries): the job parks with the candidates' predictions still running.
    suite.stack.replicate.fail({ route: "get", status: 503 });
    const rt = runtime();
    const user = await rt.prisma.user.create({ data: { email: "cand-cancel@example.com" } });
    const { jobId } = await createJob(rt, {
      userId: user.id,
      workflow: rt.findWorkflow("img-edit-to-video")!,
      inputs: { edit_prompt: "Make it golden hour", video_prompt: "Slow push-in" },
      upload: { filename: "photo.png", contentType: "image/png", data: suite.stack.photo, width: 320, height: 240 },
      candidates: { steps: { 1: 2 }, autoPick: false },
    });
    const parked = await waitForJob(jobId, "pending_retry");
    const predictions = parked.layout["1"]!.candidates!.length;
    expect(predictions).toBe(2);
    const rows = (await readJob(jobId)).checkpoints.filter((row) => row.stepIndex === 1 && row.candidate > 0);
    const ids = rows.map((row) => row.state?.predictionId as string | undefined).filter((id): id is string => typeof id === "string");
    expect(ids).toHaveLength(2);
    suite.stack.replicate.clearFailures();
    const { cancelJob } = await import("@/lib/jobs/service");
    await cancelJob(rt, user.id, jobId);
    for (const id of ids) expect(suite.stack.replicate.cancellations).toContain(id);
    expect((await readJob(jobId)).status).toBe("canceled");
  });
});

describe("candidates and a crash", () => {
  const suite = useServerSuite("sqlite", "cand-crash@example.com");

  it("kill -9 with 2 of 3 candidates done runs only the third again", async () => {
    const env = {
      // The first image edit to reach the model waits at a gate; the other two go through.
      LOCAL_PROVIDER_FAULTS: "image_edit:gate:1",
      WORKFLOW_RETRY_INTERVAL_SECONDS: "300",
      LOG_LEVEL: "info",
    };
    let server = await suite.start(env);
    const form = new FormData();
    form.append("workflow_id", "img-edit-to-video");
    form.append("candidates[image_edit]", "3");
    form.append("file", new Blob([new Uint8Array(FIXTURE_JPEG)], { type: "image/jpeg" }), "photo.jpg");
    const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${suite.token}` } });
    expect(response.status).toBe(202);
    const { job_id: jobId } = (await response.json()) as { job_id: string };

    const candidateRows = async () => (await readJob(jobId)).checkpoints.filter((row) => row.stepIndex === 1 && row.candidate > 0);
    for (;;) {
      const rows = await candidateRows();
      if (rows.filter((row) => row.status === "completed").length === 2 && rows.some((row) => row.status === "running")) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await server.crash();
    const before = await candidateRows();
    const gated = before.find((row) => row.status === "running")!.candidate;
    const done = before.filter((row) => row.status === "completed").map((row) => [row.candidate, row.output]);

    // The restarted server gates its first image edit again (the third candidate's rerun): open the gate.
    openGate(path.join(suite.database.dataDir, "gates"), "image_edit");
    server = await suite.start(env);
    const waiting = await waitForJobStatus(jobId, ["awaiting_input"], 60_000);
    const after = waiting.checkpoints.filter((row) => row.stepIndex === 1 && row.candidate > 0);
    expect(after.map((row) => row.status)).toEqual(["completed", "completed", "completed"]);
    // The two that were done are untouched.
    expect(after.filter((row) => row.candidate !== gated).map((row) => [row.candidate, row.output])).toEqual(done);
    // Each candidate started once, but the interrupted one twice.
    const starts = (await eventsOf(jobId, "progress")).filter((event) => event.data.step === 1 && /^Edit image with AI \(candidate \d\)$/.test(String(event.data.message))).map((event) => event.data.candidate as number);
    expect(starts.sort()).toEqual([1, 2, 3, gated].sort());
    expect(server.output()).toContain("resuming orphaned execution");
  });
});
