import { readFile } from "node:fs/promises";
import { expect, expectAccessible, newUser, PHOTO, screenshot, signUpAndSignIn, test } from "./support/fixtures";

test("the tokens page shows the webhook secret on request and rotates it after a confirmation", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("webhook-secret"));
  await page.goto("/settings/tokens");
  const section = page.getByTestId("webhook-secret");
  const value = section.getByLabel("Webhook signing secret");
  await expect(value).toHaveAttribute("type", "password");
  const api = (await (await page.request.get("/api/webhook-secret")).json()) as { success: boolean; secret: string };
  expect(api.secret).toMatch(/^whsec_/);
  await expect(value).toHaveValue(api.secret);
  await section.getByRole("button", { name: "Show" }).click();
  await expect(value).toHaveAttribute("type", "text");
  await screenshot(page, testInfo, "01-webhook-secret-shown");

  await section.getByRole("button", { name: "Rotate secret" }).click();
  await section.getByRole("button", { name: "Rotate now" }).click();
  await expect(section.getByRole("status")).toContainText("A new secret was made");
  await expect(value).not.toHaveValue(api.secret);
  const rotated = (await (await page.request.get("/api/webhook-secret")).json()) as { secret: string };
  await expect(value).toHaveValue(rotated.secret);
  await expectAccessible(page, "the rotated secret");
});

test("a run's page lists its webhook deliveries and their attempts", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("webhook-run"));
  // localhost resolves to loopback: the delivery is refused when it connects, and shown as given up.
  const response = await page.request.post("/workflows/execute", {
    multipart: {
      workflow_id: "img-edit-to-video",
      file: { name: "photo.jpg", mimeType: "image/jpeg", buffer: await readFile(PHOTO) },
      webhook_url: "https://localhost:9/hooks/montage",
      webhook_events: "complete,error",
    },
  });
  expect(response.status(), await response.text()).toBe(202);
  const jobId = ((await response.json()) as { job_id: string }).job_id;
  await expect
    .poll(async () => ((await (await page.request.get(`/jobs/${jobId}/webhooks`)).json()) as { deliveries: { status: string }[] }).deliveries.map((d) => d.status), { timeout: 60_000 })
    .toEqual(["failed"]);

  await page.goto(`/runs/${jobId}`);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
  const deliveries = page.getByRole("region", { name: "Webhook deliveries" });
  await expect(deliveries).toContainText("https://localhost:9/hooks/montage");
  const delivery = deliveries.getByTestId("webhook-delivery");
  await expect(delivery).toHaveAttribute("data-status", "failed");
  await expect(delivery).toContainText("Given up");
  await expect(delivery).toContainText("Attempt 1");
  await expect(delivery).toContainText("private address");
  await screenshot(page, testInfo, "02-webhook-deliveries");
});
