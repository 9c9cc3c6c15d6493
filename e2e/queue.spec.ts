import { SERVERS, openGate, serverUrl } from "./support/servers";
import { expect, newUser, screenshot, signUpAndSignIn, startRunWithApi, step, test } from "./support/fixtures";

// One execution at a time (WORKFLOW_CONCURRENCY=1), and each run's image edit waits at a gate the
// test opens for it: the runs started after the first wait in line until the test lets them go.
test.use({ baseURL: serverUrl(SERVERS.queue) });

test("three queued runs show their place in line and an ETA, move up as the line moves, and a finished run shows its timeline", async ({ page }, testInfo) => {
  // Four runs one after another, each with a video to make: more than one run's time.
  test.setTimeout(300_000);
  await signUpAndSignIn(page.request, newUser("queue"));
  const running = await startRunWithApi(page.request);
  const queued = [await startRunWithApi(page.request), await startRunWithApi(page.request), await startRunWithApi(page.request)];

  // The third queued run, on its page: third in line, with an ETA.
  await page.goto(`/runs/${queued[2]}`);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "queued");
  await expect(page.getByTestId("queue-place")).toContainText(/^3rd in line · about \d+ (s|min)/);
  await expect(step(page, 0).getByTestId("step-0-status")).toHaveText("Queued");
  await screenshot(page, testInfo, "01-third-in-line");

  // The details answer the same place.
  const details = (await (await page.request.get(`/workflows/execution/${queued[0]}`)).json()) as { queue_position: number; eta_seconds: number; eta_basis: string };
  expect(details.queue_position).toBe(1);
  expect(details.eta_seconds).toBeGreaterThan(0);
  // The first run's upload may have finished by now: then that step's time comes from it.
  expect(["defaults", "mixed"]).toContain(details.eta_basis);

  // The first run ends; the next one takes the slot (and waits at its gate): the line moves up, live.
  openGate(SERVERS.queue, "image_edit", running);
  await expect(page.getByTestId("queue-place")).toContainText(/^2nd in line/, { timeout: 60_000 });

  for (const jobId of queued) openGate(SERVERS.queue, "image_edit", jobId);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 240_000 });

  // The timeline: the wait in line, then each step's run, on one axis, in words as well as bars.
  const timeline = page.getByTestId("run-timeline");
  await expect(timeline).toBeVisible();
  await expect(page.getByTestId("timeline-summary-0")).toContainText(/^waited .+ · ran /);
  await expect(page.getByTestId("timeline-summary-1")).toContainText(/ran /);
  await expect(page.getByTestId("timeline-summary-2")).toContainText(/ran /);
  await expect(timeline.locator('[data-kind="queued"]')).toHaveCount(1);
  await expect(timeline.locator('[data-kind="running"]')).toHaveCount(3);
  await timeline.scrollIntoViewIfNeeded();
  await screenshot(page, testInfo, "02-timeline");
});
