import { readFile } from "node:fs/promises";
import { expect, newUser, PHOTO, signUpAndSignIn, test } from "./support/fixtures";

test("an image pasted with Ctrl+V becomes the run's image, and text pastes still go into the prompt", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("paste"));
  await page.goto("/workflows");
  await expect(page.getByRole("radio", { name: /Image Edit to Video/ })).toBeChecked();
  const bytes = [...(await readFile(PHOTO))];
  // What the browser hands the page for a pasted screenshot: a clipboard event carrying an image file.
  const taken = await page.evaluate((data) => {
    const transfer = new DataTransfer();
    transfer.items.add(new File([new Uint8Array(data)], "image.png", { type: "image/jpeg" }));
    const event = new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true });
    document.body.dispatchEvent(event);
    return { files: event.clipboardData?.files.length ?? -1, taken: event.defaultPrevented };
  }, bytes);
  expect(taken).toEqual({ files: 1, taken: true });
  await expect(page.getByTestId("picked-file")).toContainText("pasted-image.jpeg");
  await expect(page.getByRole("img", { name: "Preview of pasted-image.jpeg" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Execute" })).toBeEnabled();

  const prompt = page.getByLabel("Edit prompt");
  await prompt.fill("");
  await prompt.focus();
  const textPasteAllowed = await page.evaluate(() => {
    const transfer = new DataTransfer();
    transfer.setData("text/plain", "a prompt");
    // false if a handler called preventDefault(), i.e. took the paste away from the text field.
    return document.activeElement!.dispatchEvent(new ClipboardEvent("paste", { clipboardData: transfer, bubbles: true, cancelable: true }));
  });
  expect(textPasteAllowed).toBe(true);
  await expect(page.getByTestId("picked-file")).toContainText("pasted-image.jpeg");

  await page.getByRole("button", { name: "Execute" }).click();
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed", { timeout: 60_000 });
});
