import { expect, expectAccessible, newUser, signUpAndSignIn, startRunWithApi, test, type TestUser } from "./support/fixtures";

// The 404 page is visited on purpose.
test.use({ allowedConsoleErrors: [/status of 404/] });

/** Emoji (pictographs) in the page's text: they show as empty boxes where no emoji font is installed. */
const emojiInText = (page: import("@playwright/test").Page) => page.evaluate(() => document.body.innerText.match(/\p{Extended_Pictographic}/gu) ?? []);

test("signed out: every page passes axe-core, shows no emoji, and greets a newcomer with sign-up first", async ({ page }) => {
  // Four pages under axe, then the examples loaded and played: 1.5 minutes on a loaded machine.
  test.slow();
  for (const path of ["/", "/signin", "/signup", "/no-such-page"]) {
    await page.goto(path);
    await expectAccessible(page);
    expect(await emojiInText(page), path).toEqual([]);
  }

  await page.goto("/");
  await page.getByRole("main").getByRole("link", { name: /Get started/ }).click();
  await expect(page.getByRole("heading", { name: "Create an account", level: 1 })).toBeVisible();
  await expect(page.getByText(/Welcome back/)).toHaveCount(0);
  await page.goto("/");
  // Sign-in is one click away.
  await page.getByRole("main").getByRole("link", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fworkflows/);
  // The home page shows what Montage makes: examples the local models made, which load and play.
  await page.goto("/");
  const examples = page.getByTestId("examples");
  await expect(examples.getByRole("img")).toHaveCount(6);
  for (const image of await examples.getByRole("img").all()) {
    await expect.poll(() => image.evaluate((element: HTMLImageElement) => element.naturalWidth)).toBeGreaterThan(0);
  }
  await expect.poll(() => examples.locator("video").first().evaluate((element: HTMLVideoElement) => element.readyState)).toBeGreaterThanOrEqual(2);
});

test("signed in: every page passes axe-core and shows no emoji, a lightbox included", async ({ page }) => {
  // A whole run, then axe on six pages and a lightbox: on a loaded 2-core machine (load average 25
  // was seen) this alone passed the default 2 minutes.
  test.slow();
  const user: TestUser = newUser("a11y");
  await signUpAndSignIn(page.request, user);
  const jobId = await startRunWithApi(page.request);
  await expect.poll(async () => ((await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string } }).job.status, { timeout: 60_000 }).toBe("completed");

  for (const path of ["/", "/workflows", "/runs", `/runs/${jobId}`, `/workflows?job=${jobId}`, "/settings/tokens"]) {
    await page.goto(path);
    await expect(page.getByRole("main")).toBeVisible();
    if (path.includes(jobId)) await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
    if (path === "/runs") await expect(page.getByTestId("run-row")).toHaveCount(1);
    await expectAccessible(page);
    expect(await emojiInText(page), path).toEqual([]);
  }

  // A step's output opens large; an image edit as before and after.
  await page.goto(`/runs/${jobId}`);
  await page.getByRole("button", { name: "Open the image from “Edit image with AI” large" }).click();
  const lightbox = page.getByRole("dialog", { name: "Edit image with AI" });
  await expect(lightbox.getByTestId("before-after")).toBeVisible();
  await expect(lightbox.getByRole("img", { name: "After: Edit image with AI" })).toBeVisible();
  await expectAccessible(page, "the lightbox");
  await page.keyboard.press("Escape");
  await expect(lightbox).toBeHidden();
});
