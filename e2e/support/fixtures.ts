import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import AxeBuilder from "@axe-core/playwright";
import { expect, test as base, type APIRequestContext, type Locator, type Page, type TestInfo } from "@playwright/test";

export const PHOTO = path.resolve(import.meta.dirname, "../../tests/fixtures/photo.jpg");
export const PASSWORD = "correct horse battery";

export interface TestUser {
  email: string;
  password: string;
}

/** A user no other test (or earlier run) has: every test makes its own data. */
export function newUser(label: string): TestUser {
  return { email: `${label}-${randomUUID().slice(0, 8)}@example.com`, password: PASSWORD };
}

interface Fixtures {
  /** Console messages matching these do not fail the test (e.g. the 404 a test provokes on purpose). */
  allowedConsoleErrors: RegExp[];
  consoleGuard: void;
  a11yGuard: void;
}

/**
 * axe-core on the page as it is now: any serious or critical violation of WCAG 2.1 A/AA (contrast
 * included) fails the test, with each rule, what it means and where. Called by screenshot() and,
 * for the page each test ends on, by the a11yGuard fixture.
 */
export async function expectAccessible(page: Page, where = page.url()): Promise<void> {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const serious = results.violations
    .filter((violation) => violation.impact === "serious" || violation.impact === "critical")
    .map((violation) => `${violation.impact} ${violation.id}: ${violation.help} at ${violation.nodes.map((node) => node.target.join(" ")).join(", ")}`);
  expect(serious, `axe-core on ${where}`).toEqual([]);
}

/**
 * `test` with two guards: any page that logged a console error or threw fails the test (the UI must
 * run clean, not just look right), and the page each test ends on must pass axe-core.
 */
export const test = base.extend<Fixtures>({
  allowedConsoleErrors: [[], { option: true }],
  consoleGuard: [
    async ({ context, allowedConsoleErrors }, use) => {
      const problems: string[] = [];
      const watch = (page: Page) => {
        page.on("console", (message) => {
          if (message.type() !== "error") return;
          const text = `${message.text()} (${message.location().url})`;
          if (!allowedConsoleErrors.some((pattern) => pattern.test(text))) problems.push(`console.error: ${text}`);
        });
        page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
      };
      context.pages().forEach(watch);
      context.on("page", watch);
      await use();
      expect(problems, "the pages logged errors").toEqual([]);
    },
    { auto: true },
  ],
  a11yGuard: [
    async ({ context }, use, testInfo) => {
      await use();
      if (testInfo.status !== testInfo.expectedStatus) return;
      for (const page of context.pages()) {
        if (!page.isClosed() && page.url().startsWith("http")) await expectAccessible(page);
      }
    },
    { auto: true },
  ],
});

export { expect };

/** Creates the account through the API and signs the page's context in, as the sign-in form would. */
export async function signUpAndSignIn(request: APIRequestContext, user: TestUser): Promise<void> {
  const signUp = await request.post("/api/signup", { data: { email: user.email, password: user.password } });
  expect(signUp.status(), await signUp.text()).toBe(201);
  await signInWithApi(request, user);
}

export async function signInWithApi(request: APIRequestContext, user: TestUser): Promise<void> {
  const { csrfToken } = (await (await request.get("/api/auth/csrf")).json()) as { csrfToken: string };
  const response = await request.post("/api/auth/callback/credentials", {
    form: { csrfToken, email: user.email, password: user.password, json: "true" },
  });
  expect(response.ok()).toBe(true);
  const session = (await (await request.get("/api/auth/session")).json()) as { user?: { email?: string } };
  expect(session.user?.email).toBe(user.email);
}

/** Starts a run of the fixture photo through the API (cookie-authenticated); returns the job id. */
export async function startRunWithApi(request: APIRequestContext): Promise<string> {
  const response = await request.post("/workflows/execute", {
    multipart: {
      workflow_id: "img-edit-to-video",
      file: { name: "photo.jpg", mimeType: "image/jpeg", buffer: await readFile(PHOTO) },
    },
  });
  expect(response.status(), await response.text()).toBe(202);
  return ((await response.json()) as { job_id: string }).job_id;
}

/**
 * Saves a screenshot as a test artifact (test-results/<test>/<name>.png and the HTML report), then
 * checks the page with axe-core: every state photographed is also checked (unless the test is racing
 * a run and cannot spare the seconds; the page it ends on is checked all the same).
 */
export async function screenshot(page: Page, testInfo: TestInfo, name: string, options: { fullPage?: boolean; checkAccessible?: boolean } = {}): Promise<void> {
  const file = testInfo.outputPath(`${name}.png`);
  // Taken from the top, once the images that are in view have loaded.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForFunction(() => [...document.images].every((image) => image.complete || image.loading === "lazy"));
  await page.screenshot({ path: file, fullPage: options.fullPage ?? true, animations: "disabled" });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
  if (options.checkAccessible ?? true) await expectAccessible(page, `${page.url()} (${name})`);
}

export const DESKTOP = { width: 1280, height: 800 } as const;
export const PHONE = { width: 390, height: 844 } as const;

/** The job's details as the API gives them (cookie-authenticated). */
export async function jobDetails(request: APIRequestContext, jobId: string) {
  const response = await request.get(`/workflows/execution/${jobId}`);
  expect(response.status()).toBe(200);
  return (await response.json()) as {
    job: { status: string; attempts: number; inputs: Record<string, string>; input_file: { filename: string } | null };
    execution: { retry_count: number; max_retries: number };
  };
}

/** The user's jobs (newest first). */
export async function listJobs(request: APIRequestContext): Promise<{ id: string; status: string; inputs: Record<string, string> }[]> {
  const response = await request.get("/jobs?limit=100");
  expect(response.status()).toBe(200);
  return ((await response.json()) as { jobs: { id: string; status: string; inputs: Record<string, string> }[] }).jobs;
}

/** Picks the workflow, attaches the fixture photo and presses Execute on /workflows; returns the job id. */
export async function executeFromPage(page: Page): Promise<string> {
  await page.getByTestId("workflow-option-img-edit-to-video").click();
  await expect(page.getByRole("radio", { name: /Image Edit to Video/ })).toBeChecked();
  await page.locator('input[type="file"]').setInputFiles(PHOTO);
  await expect(page.getByTestId("picked-file")).toContainText("photo.jpg");
  await page.getByRole("button", { name: "Execute" }).click();
  const panel = page.getByTestId("job-panel");
  await expect(panel).toBeVisible();
  await expect(page).toHaveURL(/[?&]job=[0-9a-f-]{36}/);
  return (await panel.getAttribute("data-job-id"))!;
}

export function step(page: Page, index: number): Locator {
  return page.getByTestId(`step-${index}`);
}

/** The result video has decoded frames and a duration: it really plays, not just renders a box. */
export async function expectVideoPlays(video: Locator): Promise<void> {
  await expect(video).toBeVisible();
  await expect.poll(() => video.evaluate((element: HTMLVideoElement) => element.readyState), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  const duration = await video.evaluate((element: HTMLVideoElement) => element.duration);
  expect(duration).toBeGreaterThan(0);
  await expect.poll(() => video.evaluate((element: HTMLVideoElement) => element.currentTime), { timeout: 20_000 }).toBeGreaterThan(0);
}
