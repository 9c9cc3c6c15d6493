import { expect, listJobs, newUser, PHOTO, signUpAndSignIn, test } from "./support/fixtures";

test("a double click on Execute starts one run; while it goes, the primary action is New run", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("double"));
  await page.goto("/workflows");
  await page.locator('input[type="file"]').setInputFiles(PHOTO);
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");

  await page.getByRole("button", { name: "Execute" }).dblclick();
  const panel = page.getByTestId("job-panel");
  await expect(panel).toBeVisible();
  const first = (await panel.getAttribute("data-job-id"))!;
  // While it is going there is no Execute to press again, only a deliberate New run.
  await expect(page.getByRole("button", { name: "Execute" })).toHaveCount(0);
  await expect(page.getByRole("button", { name: "New run" })).toBeVisible();
  expect((await listJobs(page.request)).map((job) => job.id)).toEqual([first]);

  // New run: the first keeps going, one click away; the form is ready for another.
  await page.getByRole("button", { name: "New run" }).click();
  await expect(page.getByTestId("job-panel")).toHaveCount(0);
  await expect(page.getByTestId("detached-run")).toContainText("Your previous run keeps going.");
  expect(await listJobs(page.request)).toHaveLength(1);
  await page.getByRole("button", { name: "Execute" }).click();
  await expect(page.getByTestId("job-panel")).not.toHaveAttribute("data-job-id", first);
  await expect.poll(async () => (await listJobs(page.request)).length).toBe(2);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect.poll(async () => (await listJobs(page.request)).find((job) => job.id === first)?.status, { timeout: 60_000 }).toBe("completed");
});
