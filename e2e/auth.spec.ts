import { expect, newUser, screenshot, test } from "./support/fixtures";

// A wrong password (401) and a taken email (409) are answered with errors the browser logs.
test.use({ allowedConsoleErrors: [/status of (401|409)/] });

test.describe("sign-in", () => {
  test("signs up, signs out, and signs in again through the pages", async ({ page }, testInfo) => {
    const user = newUser("signup");

    await page.goto("/");
    await page.getByRole("banner").getByRole("link", { name: "Sign up" }).click();
    await expect(page).toHaveURL(/\/signup/);
    await page.getByLabel("Name").fill("Ada");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill("short");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("main").getByRole("alert")).toContainText("at least 8 characters");
    await page.getByLabel("Password").fill(user.password);
    await screenshot(page, testInfo, "01-sign-up");
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByTestId("signed-in-as")).toHaveText(user.email);
    await expect(page).toHaveURL(/\/$/);

    await page.getByRole("button", { name: "Sign out" }).click();
    await expect(page.getByRole("banner").getByRole("link", { name: "Sign in" })).toBeVisible();

    // A page that needs an account sends the visitor to sign in, and back afterwards.
    await page.goto("/workflows");
    await expect(page).toHaveURL(/\/signin\?callbackUrl=%2Fworkflows/);
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill("not the password");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("main").getByRole("alert")).toHaveText("The email or password is incorrect.");
    await screenshot(page, testInfo, "02-sign-in-error");
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(/\/workflows$/);
    await expect(page.getByRole("heading", { name: "AI Workflow Engine", level: 1 })).toBeVisible();
    await expect(page.getByTestId("signed-in-as")).toHaveText(user.email);
  });

  test("refuses a second account with the same email", async ({ page }) => {
    const user = newUser("dupe");
    const first = await page.request.post("/api/signup", { data: user });
    expect(first.status()).toBe(201);
    await page.goto("/signup");
    await page.getByLabel("Email").fill(user.email);
    await page.getByLabel("Password").fill(user.password);
    await page.getByRole("button", { name: "Create account" }).click();
    await expect(page.getByRole("main").getByRole("alert")).toContainText("already exists");
  });
});
