import { SERVERS, openGate, serverUrl } from "./support/servers";
import { executeFromPage, expect, expectVideoPlays, newUser, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

// This server's image edit waits at a gate until the test opens it for its own job: the step stays
// in progress for as long as the test needs, on a busy machine too.
test.use({ baseURL: serverUrl(SERVERS.gated) });

test("reloading mid-run comes back to the run, and the tracker catches up", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("reload"));
  await page.goto("/workflows");
  const jobId = await executeFromPage(page);
  await expect(step(page, 1)).toHaveAttribute("data-status", "running");
  await screenshot(page, testInfo, "01-running");

  await page.reload();
  await expect(page).toHaveURL(new RegExp(`job=${jobId}`));
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-job-id", jobId);
  // Caught up from the snapshot and the stream's replay: the upload is done, the edit still running.
  await expect(step(page, 0)).toHaveAttribute("data-status", "completed");
  await expect(step(page, 1)).toHaveAttribute("data-status", "running");
  await expect(page.getByTestId("stream-state")).toHaveAttribute("data-state", "live");
  await screenshot(page, testInfo, "02-after-reload");

  openGate(SERVERS.gated, "image_edit", jobId);
  await expect(step(page, 2)).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expectVideoPlays(page.getByTestId("result-video"));
});

test("Cancel stops a running run, and Retry resumes it from its checkpoint", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("cancel"));
  await page.goto("/workflows");
  const jobId = await executeFromPage(page);
  await expect(step(page, 1)).toHaveAttribute("data-status", "running");

  await page.getByRole("button", { name: "Cancel run" }).click();
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "canceled");
  await expect(step(page, 0)).toHaveAttribute("data-status", "completed");
  await expect(step(page, 1)).toHaveAttribute("data-status", "canceled");
  await expect(page.getByTestId("progress-announcer")).toHaveText("Run canceled.");
  await screenshot(page, testInfo, "01-canceled");

  // The retry starts again at the edit (the upload's checkpoint stands), held until the gate opens.
  await page.getByRole("button", { name: "Retry" }).click();
  await expect(step(page, 1)).toHaveAttribute("data-status", "running");
  await expect(step(page, 0)).toHaveAttribute("data-status", "completed");
  openGate(SERVERS.gated, "image_edit", jobId);
  await expect(step(page, 2)).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
  await expectVideoPlays(page.getByTestId("result-video"));
});
