import { SERVERS, serverUrl } from "./support/servers";
import { DESKTOP, executeFromPage, expect, expectVideoPlays, jobDetails, newUser, PHONE, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

// Issue 17's setup: the video model answers "insufficient credit" once (which opens the provider's
// circuit), and the retry sweep runs only every 10 minutes.
test.use({ baseURL: serverUrl(SERVERS.recovery) });

test("after the provider recovers, Retry now completes the parked run and the next run goes straight through", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("recovery"));
  await page.goto("/workflows");
  const first = await executeFromPage(page);

  // Parked on insufficient credit: what it means and what to do, in words, no internal codes.
  await expect(step(page, 2)).toHaveAttribute("data-status", "parked", { timeout: 60_000 });
  const notice = page.getByTestId("parked-notice");
  await expect(notice).toContainText("The model provider is out of credit");
  await expect(notice).toContainText("Top up the account's credit, then press Retry now.");
  await expect(notice).not.toContainText("reason:");
  await expect(page.getByTestId("next-retry")).toContainText(/Next automatic try at \d{1,2}:\d{2}:\d{2}.*\(in \d+ minutes\)/);

  // One way of counting attempts: the notice, the API and the run page agree.
  await expect(notice).toContainText("That will be attempt 2 of 5.");
  const parked = await jobDetails(page.request, first);
  expect(parked.job.attempts).toBe(1);
  expect(parked.execution).toMatchObject({ retry_count: 1, max_retries: 5 });
  await screenshot(page, testInfo, "desktop-parked");
  await page.setViewportSize(PHONE);
  await screenshot(page, testInfo, "phone-parked");
  await page.setViewportSize(DESKTOP);
  const detail = await page.context().newPage();
  await detail.goto(`/runs/${first}`);
  await expect(detail.getByTestId("detail-attempts")).toHaveText("1 of 5 · next: attempt 2 of 5");
  await detail.close();

  await page.getByRole("button", { name: "Retry now" }).click();
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expectVideoPlays(page.getByTestId("result-video"));
  expect((await jobDetails(page.request, first)).job.attempts).toBe(1); // a fresh series, its first attempt succeeded

  // At once, a second run: it must not wait for the recovery wave (10 minutes) behind nobody.
  await page.getByRole("button", { name: "Execute" }).click();
  const panel = page.getByTestId("job-panel");
  await expect(panel).not.toHaveAttribute("data-job-id", first);
  const second = (await panel.getAttribute("data-job-id"))!;
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  const events = await (await page.request.get(`/jobs/${second}/stream`)).text();
  expect(events).not.toContain("event: retry_scheduled");
  expect((await jobDetails(page.request, second)).job.attempts).toBe(1);
});
