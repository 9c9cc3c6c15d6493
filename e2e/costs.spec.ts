import { executeFromPage, expect, expectAccessible, newUser, signUpAndSignIn, test } from "./support/fixtures";

test("the estimate shows by Execute, and each run's cost on the Runs list and the run page", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("costs"));
  await page.goto("/workflows");
  await page.getByTestId("workflow-option-img-edit-to-video").click();
  // The e2e servers run the local models: the estimate says they cost nothing, and why.
  await expect(page.getByTestId("execute-estimate")).toHaveText("Estimated cost: $0 (models run locally, nothing is charged)");
  await expectAccessible(page);

  // The same estimate from the API, for the execute form's fields without a file.
  const estimate = await page.request.post("/workflows/estimate", { multipart: { workflow_id: "img-edit-to-video", edit_prompt: "sepia", candidates: "2" } });
  expect(estimate.status()).toBe(200);
  expect(((await estimate.json()) as { estimate: { total_usd: number; candidates: number; note: string } }).estimate).toMatchObject({ total_usd: 0, candidates: 2, note: expect.stringMatching(/locally/) });

  const jobId = await executeFromPage(page);
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });

  await page.goto("/runs");
  await expect(page.locator(`[data-job-id="${jobId}"]`).getByTestId("run-cost")).toHaveText("· cost $0");

  await page.goto(`/runs/${jobId}`);
  await expect(page.getByTestId("detail-cost")).toHaveText("$0 of $0 estimated");
  await expect(page.getByTestId("step-cost-2")).toHaveText("$0 (estimated $0)");
});

test("the Budget page shows the month's spend and lets a person set a lower budget", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("budget"));
  await page.goto("/settings/budget");
  await expect(page.getByRole("heading", { name: "Budget", level: 1 })).toBeVisible();
  await expect(page.getByTestId("month-spent")).toHaveText("$0");
  await expect(page.getByTestId("monthly-budget")).toHaveText("No limit");
  await page.getByLabel("Your monthly budget (USD)").fill("12.5");
  await page.getByRole("button", { name: "Set budget" }).click();
  await expect(page.getByTestId("monthly-budget")).toHaveText("$12.50");
  await expect(page.locator("section[aria-labelledby=budget-title] [role=status]")).toHaveText("Saved.");
  await expectAccessible(page);
  await page.getByRole("button", { name: "Remove my budget" }).click();
  await expect(page.getByTestId("monthly-budget")).toHaveText("No limit");
});
