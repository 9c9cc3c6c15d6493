import { readFile } from "node:fs/promises";
import { executeFromPage, expect, jobDetails, newUser, PHOTO, signUpAndSignIn, test } from "./support/fixtures";

test("Run again brings back the run's image and inputs, editable, from the run view, after a reload, and from the run page", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("again"));
  await page.goto("/workflows");
  await page.getByLabel("Edit prompt").fill("black and white, sharper");
  const first = await executeFromPage(page);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  // After a reload the page has forgotten nothing: the server still has the image and the prompts.
  await page.reload();
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  await expect(page.getByLabel("Edit prompt")).toHaveValue("black and white, sharper");

  // Run again from the result: the form, filled, focused; change the prompt, run it.
  await page.getByRole("button", { name: "Run again" }).click();
  await expect(page.getByTestId("form-note")).toContainText("The form has that run's image and inputs again");
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  await page.getByLabel("Edit prompt").fill("sepia, vintage");
  await page.getByRole("button", { name: "Execute" }).click();
  const panel = page.getByTestId("job-panel");
  await expect(panel).not.toHaveAttribute("data-job-id", first);
  const second = (await panel.getAttribute("data-job-id"))!;
  const details = await jobDetails(page.request, second);
  expect(details.job.inputs.edit_prompt).toBe("sepia, vintage");
  expect(details.job.input_file?.filename).toBe("photo.jpg");
  const again = Buffer.from(await (await page.request.get(`/jobs/${second}/input`)).body());
  expect(again.equals(await readFile(PHOTO))).toBe(true);
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  // The runs list tells them apart by their prompts, and finds one by a word of it.
  await page.goto("/runs");
  await expect(page.getByTestId("run-row")).toHaveCount(2);
  await page.getByLabel("Search runs").fill("sepia");
  await expect(page.getByTestId("run-row")).toHaveCount(1);
  await expect(page.getByTestId("run-row")).toContainText("sepia, vintage");

  // From the run's page: Run again opens the runner with that run's inputs.
  await page.goto(`/runs/${first}`);
  await page.getByRole("link", { name: "Run again" }).click();
  await expect(page).toHaveURL(new RegExp(`/workflows\\?from=${first}`));
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  await expect(page.getByLabel("Edit prompt")).toHaveValue("black and white, sharper");
  await expect(page.getByRole("button", { name: "Execute" })).toBeEnabled();
});

test("Use as input puts the edited image into the form for the next run", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("reuse"));
  await page.goto("/workflows");
  const first = await executeFromPage(page);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await page.getByRole("button", { name: "Use the edited image as input" }).click();
  await expect(page.getByTestId("picked-file")).toContainText(`montage-${first.slice(0, 8)}-step-2.png`);
  await expect(page.getByRole("button", { name: "Execute" })).toBeEnabled();
});
