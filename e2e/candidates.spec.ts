import { executeFromPage, expect, newUser, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

test("Three candidates of the image edit side by side; Use this one carries the pick into the video", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("candidates"));
  await page.goto("/workflows");
  await page.getByTestId("workflow-option-img-edit-to-video").click();
  await page.locator('input[type="file"]').setInputFiles("tests/fixtures/photo.jpg");
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");

  // Options: the image edit runs as three candidates (the count control appears only on steps that allow it).
  const options = page.getByTestId("run-options");
  await expect(options.getByLabel("Candidates")).toHaveCount(2);
  await options.getByRole("listitem").filter({ hasText: "Edit image with AI" }).getByLabel("Candidates").selectOption("3");
  await expect(options.getByLabel("Don't ask me: use the first candidate that succeeds")).not.toBeChecked();
  await screenshot(page, testInfo, "01-candidates-option");

  const jobId = await executeFromPage(page);
  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "awaiting_input", { timeout: 60_000 });
  const card = page.getByTestId("candidates-card");
  await expect(card.getByRole("heading", { name: "Pick a candidate for Edit image with AI" })).toBeVisible();
  await expect(card.getByTestId("candidate")).toHaveCount(3);
  for (const n of [1, 2, 3]) await expect(card.getByRole("img", { name: `Candidate ${n} of Edit image with AI` })).toBeVisible();
  // Large enough to judge: each candidate is shown at least 240 px wide.
  const box = await card.getByRole("img", { name: "Candidate 2 of Edit image with AI" }).boundingBox();
  expect(box!.width).toBeGreaterThanOrEqual(240);
  await expect(page.getByTestId("candidates-waited")).toContainText(/Waiting for \d/);
  await expect(step(page, 1).getByTestId("step-1-status")).toHaveText("Awaiting your pick");
  await expect(step(page, 1).getByTestId("waited-for")).toContainText(/waited \d/);
  await screenshot(page, testInfo, "02-candidates-side-by-side");

  await card.getByRole("button", { name: "Use candidate 2" }).click();
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("candidates-card")).toHaveCount(0);
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as {
    job: { status: string; attempts: number; candidates: { steps: Record<string, number> } };
    checkpoints: Record<string, { output?: Record<string, string>; picked_candidate?: number; candidates?: { output?: Record<string, string> }[] }>;
  };
  expect(details.job).toMatchObject({ status: "completed", attempts: 1, candidates: { steps: { "1": 3 } } });
  expect(details.checkpoints["1"]).toMatchObject({ picked_candidate: 2, output: details.checkpoints["1"]!.candidates![1]!.output });
  await screenshot(page, testInfo, "03-picked-and-completed");
});

test("Approve before on the new-run form stops the run before that step", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("approve-form"));
  await page.goto("/workflows");
  await page.getByTestId("workflow-option-img-edit-to-video").click();
  await page.locator('input[type="file"]').setInputFiles("tests/fixtures/photo.jpg");
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  const options = page.getByTestId("run-options");
  // Every step but the first can wait for approval.
  await expect(options.getByLabel(/^Approve before/)).toHaveCount(2);
  await options.getByRole("listitem").filter({ hasText: "Generate video" }).getByLabel("Approve before").check();
  const jobId = await executeFromPage(page);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "awaiting_approval", { timeout: 60_000 });
  await expect(page.getByTestId("approval-card").getByRole("heading", { name: "Approve before Generate video?" })).toBeVisible();
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { approval_steps: number[] } };
  expect(details.job.approval_steps).toEqual([2]);
});
