import { readFile } from "node:fs/promises";
import type { APIRequestContext } from "@playwright/test";
import { expect, newUser, PHOTO, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

/** Starts a run that stops before the video step until approved (approve_before, through the API). */
async function startAwaitingRun(request: APIRequestContext): Promise<string> {
  const response = await request.post("/workflows/execute", {
    multipart: {
      workflow_id: "img-edit-to-video",
      approve_before: "video_generation",
      file: { name: "photo.jpg", mimeType: "image/jpeg", buffer: await readFile(PHOTO) },
    },
  });
  expect(response.status(), await response.text()).toBe(202);
  return ((await response.json()) as { job_id: string }).job_id;
}

test("A run waits before the video step: the card shows the edited image and the wait; Approve runs the video", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("approve"));
  const jobId = await startAwaitingRun(page.request);
  await page.goto(`/runs/${jobId}`);
  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "awaiting_approval", { timeout: 60_000 });
  const card = page.getByTestId("approval-card");
  await expect(card.getByRole("heading", { name: "Approve before Generate video?" })).toBeVisible();
  await expect(card.getByRole("button", { name: /Edit image with AI/ })).toBeVisible();
  await expect(page.getByTestId("approval-waited")).toContainText(/Waiting for \d/);
  await expect(step(page, 2).getByTestId("step-2-status")).toHaveText("Awaiting approval");
  await expect(step(page, 1)).toHaveAttribute("data-status", "completed");
  await screenshot(page, testInfo, "01-awaiting-approval");

  await card.getByLabel("Comment (optional)").fill("The light is right");
  await card.getByRole("button", { name: "Approve" }).click();
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
  await expect(page.getByTestId("approval-card")).toHaveCount(0);
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string; attempts: number; awaiting: unknown } };
  expect(details.job).toMatchObject({ status: "completed", attempts: 1, awaiting: null });
});

test("Reject cancels the waiting run with the comment as its reason", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("reject"));
  const jobId = await startAwaitingRun(page.request);
  await page.goto(`/runs/${jobId}`);
  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "awaiting_approval", { timeout: 60_000 });
  const card = page.getByTestId("approval-card");
  await card.getByLabel("Comment (optional)").fill("Too dark, start over");
  await card.getByRole("button", { name: "Reject" }).click();
  await expect(panel).toHaveAttribute("data-status", "canceled", { timeout: 30_000 });
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string; error: string; error_code: string } };
  expect(details.job).toMatchObject({ status: "canceled", error: "Too dark, start over", error_code: "approval_rejected" });
  await page.goto("/runs");
  await expect(page.locator(`[data-job-id="${jobId}"]`)).toContainText("Canceled");
});
