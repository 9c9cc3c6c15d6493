import { SERVERS, openGate, serverUrl } from "./support/servers";
import { executeFromPage, expect, newUser, signUpAndSignIn, startRunWithApi, step, test } from "./support/fixtures";

test.describe("reduced motion", () => {
  test("the result video neither plays nor loops by itself under prefers-reduced-motion, and does otherwise", async ({ page }) => {
    await signUpAndSignIn(page.request, newUser("motion"));
    const jobId = await startRunWithApi(page.request);
    await expect.poll(async () => ((await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string } }).job.status, { timeout: 60_000 }).toBe("completed");

    await page.emulateMedia({ reducedMotion: "reduce" });
    await page.goto(`/runs/${jobId}`);
    const video = page.getByTestId("result-video");
    await expect.poll(() => video.evaluate((element: HTMLVideoElement) => element.readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    // Enough data to play through: a video that was told to play (the page's mount effect runs
    // before any data arrives) would be playing by now.
    await expect.poll(() => video.evaluate((element: HTMLVideoElement) => element.readyState), { timeout: 20_000 }).toBe(4);
    expect(await video.evaluate((element: HTMLVideoElement) => ({ paused: element.paused, loop: element.loop, time: element.currentTime }))).toEqual({ paused: true, loop: false, time: 0 });

    await page.emulateMedia({ reducedMotion: "no-preference" });
    await expect.poll(() => video.evaluate((element: HTMLVideoElement) => !element.paused && element.loop)).toBe(true);
  });
});

test.describe("a run in the background", () => {
  // The image edit waits at a gate until the test opens it: time to look at the tab while it runs.
  test.use({ baseURL: serverUrl(SERVERS.gated) });

  test("the tab's title and icon follow the run, and a notification says when it is done", async ({ page, context }) => {
    await context.grantPermissions(["notifications"]);
    await page.addInitScript(() => {
      // The notifications the page creates, and a switch for "the tab is in the background" (the
      // test cannot hide its own tab).
      const record = { notifications: [] as { title: string; body: string }[], hidden: false };
      (window as unknown as { __record: typeof record }).__record = record;
      Object.defineProperty(document, "hidden", { get: () => record.hidden });
      const Real = window.Notification;
      class Recorded extends Real {
        constructor(title: string, options?: NotificationOptions) {
          super(title, options);
          record.notifications.push({ title, body: options?.body ?? "" });
        }
      }
      window.Notification = Recorded;
    });
    await signUpAndSignIn(page.request, newUser("attention"));
    await page.goto("/workflows");
    const original = await page.title();
    const jobId = await executeFromPage(page);
    await expect(step(page, 1)).toHaveAttribute("data-status", "running");
    await expect(page).toHaveTitle(/^\d+% · Edit image with AI · Image Edit to Video · Montage$/);
    expect(await page.locator('link[rel~="icon"]').first().getAttribute("href")).toMatch(/^data:image\/svg\+xml,/);
    await expect(page.getByText("You will be notified")).toBeVisible();

    await page.evaluate(() => ((window as unknown as { __record: { hidden: boolean } }).__record.hidden = true));
    openGate(SERVERS.gated, "image_edit", jobId);
    await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
    await expect(page).toHaveTitle("Done · Image Edit to Video · Montage");
    await expect
      .poll(() => page.evaluate(() => (window as unknown as { __record: { notifications: unknown[] } }).__record.notifications))
      .toEqual([{ title: "Image Edit to Video: done", body: "The result is ready." }]);

    // Leaving the run puts the tab back as it was.
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).click();
    await expect(page).toHaveTitle("Runs · Montage");
    expect(original).toBe("AI Workflow Engine · Montage");
  });
});
