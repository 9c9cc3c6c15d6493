import { expect, expectAccessible, newUser, screenshot, signUpAndSignIn, startRunWithApi, test } from "./support/fixtures";
import { openGate, SERVERS, serverUrl } from "./support/servers";

// The image edit waits at a gate on this server, so the runs stay running until the test cancels them.
test.use({ baseURL: serverUrl(SERVERS.gated) });

test("the Runs page cancels selected runs together, then retries them", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("bulk"));
  const jobs = [await startRunWithApi(page.request), await startRunWithApi(page.request), await startRunWithApi(page.request)];
  const [first, second, kept] = jobs as [string, string, string];
  await page.goto("/runs");
  await expect(page.getByTestId("run-row")).toHaveCount(3);
  const bar = page.getByTestId("bulk-bar");
  await expect(bar.getByRole("button", { name: /Cancel selected/ })).toBeDisabled();

  for (const jobId of [first, second]) await page.locator(`li:has([data-job-id="${jobId}"])`).getByTestId("run-select").check();
  await expect(bar).toContainText("2 selected");
  await expectAccessible(page, "runs with a selection");
  await bar.getByRole("button", { name: "Cancel selected (2)" }).click();
  await expect(bar.getByRole("status")).toHaveText("Canceled 2 of 2 selected runs.");
  const statusOf = async (jobId: string) => ((await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string } }).job.status;
  await expect.poll(() => statusOf(first)).toBe("canceled");
  expect(await statusOf(second)).toBe("canceled");
  expect(await statusOf(kept)).not.toBe("canceled");
  await screenshot(page, testInfo, "01-runs-canceled");

  for (const jobId of [first, second]) await page.locator(`li:has([data-job-id="${jobId}"])`).getByTestId("run-select").check();
  await bar.getByRole("button", { name: "Retry selected (2)" }).click();
  await expect(bar.getByRole("status")).toHaveText("Retried 2 of 2 selected runs.");
  await expect.poll(() => statusOf(first)).not.toBe("canceled");
  await expectAccessible(page, "runs after a retry");
  // Let the held runs finish so the gated server is left clean.
  for (const jobId of jobs) openGate(SERVERS.gated, "image_edit", jobId);
});
