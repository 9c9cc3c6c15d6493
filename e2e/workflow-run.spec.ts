import { executeFromPage, expect, expectVideoPlays, newUser, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

test("Engines → AI Workflow Engine → upload → three steps complete → the video plays", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("runner"));

  await page.goto("/");
  await page.getByRole("button", { name: "Engines" }).click();
  const engines = page.getByTestId("category-engines");
  await expect(engines.getByRole("heading", { name: "Engines" })).toBeVisible();
  await expect(page.getByTestId("category-workflows")).toBeHidden();
  await screenshot(page, testInfo, "01-home-engines");
  await engines.getByRole("link", { name: /AI Workflow Engine/ }).click();
  await expect(page).toHaveURL(/\/workflows/);

  // The selector is fed by /workflows/list and shows the steps.
  const option = page.getByTestId("workflow-option-img-edit-to-video");
  await expect(option).toContainText("Edit image with AI");
  await expect(option).toContainText("Generate video");
  await option.click();
  await expect(page.getByLabel("Edit prompt")).toHaveValue("Make it cinematic with warm golden-hour light");
  // The server's limits are checked before uploading.
  await page.locator('input[type="file"]').setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not an image") });
  await expect(page.getByTestId("file-error")).toHaveText("notes.txt is not a supported image. Use JPEG, PNG, WebP.");
  await expect(page.getByRole("button", { name: "Execute" })).toBeDisabled();
  await page.locator('input[type="file"]').setInputFiles("tests/fixtures/photo.jpg");
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  await expect(page.getByRole("img", { name: "Preview of photo.jpg" })).toBeVisible();
  await screenshot(page, testInfo, "02-ready-to-execute");

  const jobId = await executeFromPage(page);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-job-id", jobId);
  for (const index of [0, 1, 2]) {
    await expect(step(page, index)).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  }
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("progress-announcer")).toHaveText("Run completed. The result is ready.");
  // Completed steps show their outputs.
  await expect(step(page, 1).getByTestId("step-1-output").locator("img")).toHaveAttribute("alt", "Output of Edit image with AI");

  const video = page.getByTestId("result-video");
  await expectVideoPlays(video);
  await expect(page.getByRole("link", { name: "Download video" })).toHaveAttribute("href", new RegExp(`^/files/jobs/${jobId}/`));
  await screenshot(page, testInfo, "03-run-completed");

  // Run history lists it and opens the detail page with the checkpoints.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).click();
  const row = page.locator(`[data-testid="run-row"][data-job-id="${jobId}"]`);
  await expect(row).toContainText("Make it cinematic with warm golden-hour light");
  await expect(row).toContainText("Image Edit to Video");
  await expect(row).toContainText("Completed");
  await screenshot(page, testInfo, "04-run-history");
  await row.click();
  await expect(page).toHaveURL(new RegExp(`/runs/${jobId}$`));
  await expect(page.getByRole("heading", { name: "“Make it cinematic with warm golden-hour light”", level: 1 })).toBeVisible();
  // Every step's output as media (each opens large), the raw data behind a disclosure.
  await expect(page.getByTestId("step-strip").getByRole("button", { name: /^Open the (image|video) from/ })).toHaveCount(3);
  await expect(page.getByTestId("checkpoint-2")).toContainText("Done");
  await expect(page.getByTestId("detail-attempts")).toHaveText("1 of 5");
  await expectVideoPlays(page.getByTestId("result-video"));
  await screenshot(page, testInfo, "05-run-detail");
});

test("fits a phone screen", async ({ page }, testInfo) => {
  await page.setViewportSize({ width: 390, height: 844 });
  await signUpAndSignIn(page.request, newUser("phone"));
  const noSideways = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  await page.goto("/");
  await expect(page.getByTestId("tool-workflow-engine")).toBeVisible();
  expect(await noSideways()).toBe(true);
  await screenshot(page, testInfo, "phone-home");

  await page.goto("/workflows");
  await page.locator('input[type="file"]').setInputFiles("tests/fixtures/photo.jpg");
  await page.getByRole("button", { name: "Execute" }).click();
  await expect(step(page, 2)).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("result-video")).toBeVisible();
  expect(await noSideways()).toBe(true);
  await screenshot(page, testInfo, "phone-run-completed");
});

test("works from the keyboard", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("keyboard"));
  await page.goto("/workflows");
  await expect(page.getByRole("radio", { name: /Image Edit to Video/ })).toBeChecked();
  // The first Tab reaches the skip link, which jumps over the header.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Enter");
  // Then the workflow choice and the file input are reachable in order.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("radio", { name: /Image Edit to Video/ })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.locator('input[type="file"]')).toBeFocused();
});
