import { SERVERS, openGate, serverUrl } from "./support/servers";
import { DESKTOP, expect, expectVideoPlays, newUser, PHONE, PHOTO, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

// This server's image edit waits at a gate until the test opens it: a run in progress, photographed.
test.use({ baseURL: serverUrl(SERVERS.gated) });

/** Where an element starts on the page (not the viewport): how far down a person has to scroll to it. */
const pageTop = (locator: import("@playwright/test").Locator) => locator.evaluate((element) => element.getBoundingClientRect().top + window.scrollY);

for (const [name, viewport] of [
  ["desktop", DESKTOP],
  ["phone", PHONE],
] as const) {
  test(`${name}: empty form, running, result; the result comes first`, async ({ page }, testInfo) => {
    await page.setViewportSize(viewport);
    await page.addInitScript(() => {
      // Records whether "Connecting…" ever shows, however briefly (it used to flash at every run's start).
      const seen = { connecting: false };
      (window as unknown as { __seen: typeof seen }).__seen = seen;
      new MutationObserver(() => {
        if (document.body?.innerText.includes("Connecting…")) seen.connecting = true;
      }).observe(document, { childList: true, subtree: true, characterData: true });
    });
    await signUpAndSignIn(page.request, newUser(`screens-${name}`));
    await page.goto("/workflows");
    await expect(page.getByRole("button", { name: "Execute" })).toBeDisabled();
    await screenshot(page, testInfo, `${name}-empty-form`);

    await page.locator('input[type="file"]').setInputFiles(PHOTO);
    await page.getByRole("button", { name: "Execute" }).click();
    await expect(step(page, 1)).toHaveAttribute("data-status", "running");
    // The upload's output is shown at the run's proportions (640x480), with a placeholder until it loads.
    const upload = page.getByTestId("step-0-output");
    await expect(upload.locator("[data-loaded]")).toHaveAttribute("data-loaded", "true");
    const ratio = await upload.locator("[data-loaded]").evaluate((element) => element.getBoundingClientRect().width / element.getBoundingClientRect().height);
    expect(ratio).toBeCloseTo(4 / 3, 1);
    await screenshot(page, testInfo, `${name}-running`);
    openGate(SERVERS.gated, "image_edit", new URL(page.url()).searchParams.get("job")!);

    await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
    const video = page.getByTestId("result-video");
    await expectVideoPlays(video);
    await page.evaluate(() => window.scrollTo(0, 0));
    const videoBox = (await video.boundingBox())!;
    if (name === "desktop") {
      // Above the fold: the whole player without scrolling (it used to start at y = 936).
      expect(videoBox.y + videoBox.height).toBeLessThanOrEqual(viewport.height);
    } else {
      // On a phone, the run comes before the form, its player on the first screen.
      expect(await pageTop(page.getByTestId("result-card"))).toBeLessThan(await pageTop(page.getByTestId("run-form")));
      expect(await pageTop(video)).toBeLessThan(viewport.height);
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    expect(await page.evaluate(() => (window as unknown as { __seen: { connecting: boolean } }).__seen.connecting)).toBe(false);
    await screenshot(page, testInfo, `${name}-result`);
  });
}
