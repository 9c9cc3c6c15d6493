import { SERVERS, serverUrl } from "./support/servers";
import { executeFromPage, expect, expectVideoPlays, newUser, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

// This server's video model fails twice with a 503; its sweep waits an hour.
test.use({ baseURL: serverUrl(SERVERS.faults) });

test("a run parks on a provider failure, shows the next retry; Retry now always shows what it did, and completes it", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("parked"));
  await page.goto("/workflows");
  await executeFromPage(page);

  await expect(step(page, 2)).toHaveAttribute("data-status", "parked", { timeout: 60_000 });
  await expect(step(page, 0)).toHaveAttribute("data-status", "completed");
  await expect(step(page, 1)).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "pending_retry");
  await expect(page.getByTestId("parked-notice")).toContainText("The model provider is unavailable");
  await expect(page.getByTestId("parked-notice")).toContainText("press Retry now to try at once");
  await step(page, 2).getByText("Technical details").click();
  await expect(step(page, 2)).toContainText("Service unavailable (503)");
  const nextRetry = page.getByTestId("next-retry");
  await expect(nextRetry).toContainText(/Next automatic try at \d{1,2}:\d{2}:\d{2}.*\(in (\d+ minutes|1 hour)\)/);
  await expect(page.getByTestId("progress-announcer")).toContainText("Generate video is paused");
  await screenshot(page, testInfo, "01-parked");

  await expect(page.getByTestId("parked-notice")).toContainText("That will be attempt 2 of 5.");

  // The provider is still down: Retry now tries, and says that it did and why the run waits again.
  await page.getByRole("button", { name: "Retry now" }).click();
  await expect(page.getByTestId("retry-feedback")).toContainText(/^Tried again at \d{1,2}:\d{2}:\d{2}( [AP]M)? as you asked: it had to wait again/, { timeout: 60_000 });
  await expect(page.getByTestId("parked-notice")).toContainText("The model provider is unavailable");
  // Retry now starts a fresh series of attempts: the one that just failed was its first.
  await expect(page.getByTestId("parked-notice")).toContainText("That will be attempt 2 of 5.");
  await screenshot(page, testInfo, "02-retried-and-held-again");

  await page.getByRole("button", { name: "Retry now" }).click();
  await expect(step(page, 2)).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
  await expectVideoPlays(page.getByTestId("result-video"));
  await screenshot(page, testInfo, "03-retried-and-completed");
});
