import { expect, newUser, screenshot, signUpAndSignIn, startRunWithApi, test } from "./support/fixtures";

// The 404s below are the point of the test; the browser logs each failed load.
test.use({ allowedConsoleErrors: [/status of 404/] });

test("another user cannot open the first user's run", async ({ browser, page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("owner"));
  const jobId = await startRunWithApi(page.request);
  await page.goto(`/runs/${jobId}`);
  await expect(page.getByTestId("job-panel")).toBeVisible();

  const otherContext = await browser.newContext();
  const other = await otherContext.newPage();
  try {
    await signUpAndSignIn(other.request, newUser("intruder"));
    const response = await other.goto(`/runs/${jobId}`);
    expect(response?.status()).toBe(404);
    await expect(other.getByRole("heading", { name: "Not found" })).toBeVisible();
    await screenshot(other, testInfo, "01-other-users-run-404");

    // Nor through the runner page, the API, the stream or the files.
    await other.goto(`/workflows?job=${jobId}`);
    await expect(other.getByText("Run not found")).toBeVisible();
    expect((await other.request.get(`/workflows/execution/${jobId}`)).status()).toBe(404);
    expect((await other.request.get(`/jobs/${jobId}/stream`)).status()).toBe(404);
    expect((await other.request.get(`/files/jobs/${jobId}/0-upload.jpg`)).status()).toBe(404);
    await other.goto("/runs");
    await expect(other.getByText("No runs yet")).toBeVisible();
  } finally {
    await otherContext.close();
  }
});

test("cross-site state changes are refused", async ({ page, baseURL }) => {
  await signUpAndSignIn(page.request, newUser("csrf"));
  const crossSite = await page.request.post("/api/tokens", { data: { name: "x" }, headers: { Origin: "https://evil.example" } });
  expect(crossSite.status()).toBe(403);
  expect(((await crossSite.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  const fetchSite = await page.request.post("/api/tokens", { data: { name: "x" }, headers: { "Sec-Fetch-Site": "cross-site" } });
  expect(fetchSite.status()).toBe(403);
  const sameOrigin = await page.request.post("/api/tokens", { data: { name: "x" }, headers: { Origin: baseURL! } });
  expect(sameOrigin.status()).toBe(201);
});
