import { expect, newUser, screenshot, signUpAndSignIn, startRunWithApi, test } from "./support/fixtures";

interface Details {
  job: { id: string; status: string; inputs: Record<string, string>; parent_job_id: string | null; rerun_from_step: number | null };
  checkpoints: Record<string, { status: string; output?: Record<string, string> }>;
  reruns: { job_id: string; rerun_from_step: number }[];
}

test("Rerun from the video step with a new prompt keeps the edited image and shows the lineage both ways", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("rerun"));
  const parentId = await startRunWithApi(page.request);
  await page.goto(`/runs/${parentId}`);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  // Every completed step offers a rerun; the video step's opens the run's inputs, prefilled and editable.
  await expect(page.getByRole("button", { name: /^Rerun from here/ })).toHaveCount(3);
  await page.getByRole("button", { name: "Rerun from here: Generate video" }).click();
  const form = page.getByTestId("rerun-form");
  await expect(form).toContainText("Keeps Upload image, Edit image with AI from this run");
  await expect(form.getByLabel("Edit prompt")).toHaveValue("Make it cinematic with warm golden-hour light");
  await expect(form.getByLabel("Video prompt")).toHaveValue("Slow cinematic push-in, gentle camera movement");
  await form.getByLabel("Video prompt").fill("Fast orbit around the subject");
  await screenshot(page, testInfo, "01-rerun-form");
  await form.getByRole("button", { name: "Start rerun" }).click();

  // The new run's page.
  await page.waitForURL((url) => /^\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(parentId));
  const rerunId = page.url().split("/").at(-1)!;
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("lineage-parent")).toContainText(`Rerun of run ${parentId.slice(0, 8)} from Generate video`);

  // The edited image is the parent's own (taken, not made again); the video is the rerun's, with the new prompt.
  const parent = (await (await page.request.get(`/workflows/execution/${parentId}`)).json()) as Details;
  const rerun = (await (await page.request.get(`/workflows/execution/${rerunId}`)).json()) as Details;
  expect(rerun.job).toMatchObject({ parent_job_id: parentId, rerun_from_step: 2, inputs: { video_prompt: "Fast orbit around the subject" } });
  expect(rerun.checkpoints["1"]!.output).toEqual(parent.checkpoints["1"]!.output);
  expect(rerun.checkpoints["1"]!.output!.edited_image_url).toContain(`/jobs/${parentId}/`);
  expect(rerun.checkpoints["2"]!.output!.video_url).toContain(`/jobs/${rerunId}/`);
  expect(parent.reruns).toEqual([expect.objectContaining({ job_id: rerunId, rerun_from_step: 2 })]);
  await screenshot(page, testInfo, "02-rerun-page");

  // The parent's page lists its rerun; the Runs list shows both sides.
  await page.getByTestId("lineage-parent").getByRole("link").click();
  await expect(page).toHaveURL(new RegExp(`/runs/${parentId}$`));
  await expect(page.getByTestId("lineage-reruns")).toContainText(`Run ${rerunId.slice(0, 8)}`);
  await page.goto("/runs");
  await expect(page.locator(`[data-job-id="${rerunId}"]`).getByTestId("run-row-lineage")).toContainText(`Rerun of run ${parentId.slice(0, 8)} from Generate video`);
  await expect(page.locator(`[data-job-id="${parentId}"]`).getByTestId("run-row-reruns")).toHaveText("· 1 rerun");
});

test("Rerun from the image edit as two candidates: the new run waits for a pick between them", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("rerun-candidates"));
  const parentId = await startRunWithApi(page.request);
  await page.goto(`/runs/${parentId}`);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  await page.getByRole("button", { name: "Rerun from here: Edit image with AI" }).click();
  const form = page.getByTestId("rerun-form");
  // Only the steps the rerun runs offer candidates; the upload before it is kept as it is.
  const candidates = form.getByTestId("rerun-candidates");
  await expect(candidates.getByRole("combobox")).toHaveCount(2);
  await candidates.getByRole("combobox", { name: "Edit image with AI" }).selectOption("2");
  await expect(form.getByLabel("Don't ask me: use the first candidate that succeeds")).not.toBeChecked();
  await screenshot(page, testInfo, "03-rerun-candidates");
  await form.getByRole("button", { name: "Start rerun" }).click();

  await page.waitForURL((url) => /^\/runs\/[0-9a-f-]{36}$/.test(url.pathname) && !url.pathname.endsWith(parentId));
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "awaiting_input", { timeout: 60_000 });
  await expect(page.getByTestId("candidates-card").getByTestId("candidate")).toHaveCount(2);
  const rerunId = page.url().split("/").at(-1)!;
  const rerun = (await (await page.request.get(`/workflows/execution/${rerunId}`)).json()) as { job: { candidates: { steps: Record<string, number> } } };
  expect(rerun.job.candidates.steps).toEqual({ "1": 2 });
});
