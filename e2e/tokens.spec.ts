import { request as playwrightRequest } from "@playwright/test";
import { expect, newUser, screenshot, signUpAndSignIn, test } from "./support/fixtures";

test("the tokens page creates a token once, lists it, and revokes it", async ({ page, context, baseURL }, testInfo) => {
  await context.grantPermissions(["clipboard-read", "clipboard-write"]);
  await signUpAndSignIn(page.request, newUser("tokens"));
  await page.goto("/settings/tokens");
  await expect(page.getByText("No tokens yet")).toBeVisible();

  await page.getByLabel("Name").fill("CI script");
  await page.getByRole("button", { name: "Create token" }).click();
  const value = page.getByTestId("new-token-value");
  await expect(value).toHaveValue(/^mtg_[A-Za-z0-9_-]{43}$/);
  const token = await value.inputValue();
  await page.getByRole("button", { name: "Copy", exact: true }).click();
  await expect(page.getByRole("button", { name: "Copied" })).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
  await screenshot(page, testInfo, "01-token-created");

  // The token works as a Bearer token, without any cookie.
  const api = await playwrightRequest.newContext({ baseURL: baseURL! });
  try {
    const bearer = { Authorization: `Bearer ${token}` };
    expect((await api.get("/jobs", { headers: bearer })).status()).toBe(200);
    // ...but cannot mint more tokens: that takes a signed-in session.
    expect((await api.post("/api/tokens", { headers: bearer, data: { name: "copy" } })).status()).toBe(401);

    await page.getByRole("button", { name: "I have saved it" }).click();
    await expect(page.getByTestId("new-token")).toBeHidden();
    const row = page.locator('[data-testid="token-row"][data-token-name="CI script"]');
    await expect(row).toContainText(token.slice(0, 12));
    await page.reload();
    await expect(row).toContainText("last used");
    // Shown once: nowhere on the page after that.
    await expect(page.getByText(token)).toHaveCount(0);

    await row.getByRole("button", { name: "Revoke token CI script" }).click();
    await row.getByRole("button", { name: "Revoke “CI script”" }).click();
    await expect(row).toHaveAttribute("data-revoked", "true");
    await expect(row).toContainText("Revoked");
    await screenshot(page, testInfo, "02-token-revoked");
    expect((await api.get("/jobs", { headers: bearer })).status()).toBe(401);
  } finally {
    await api.dispose();
  }
});
