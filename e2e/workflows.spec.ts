import sharp from "sharp";
import { expect, expectVideoPlays, newUser, screenshot, signUpAndSignIn, step, test } from "./support/fixtures";

/**
 * The two workflows that prove a new one is a folder, in the built app: Text to Video from a prompt
 * alone (its one image optional, typed fields with their errors, a model choice), and Product Shots,
 * whose scene runs as three candidates to pick from and whose result is an image, in the result
 * view and the Runs list.
 */
test("Text to Video: no image needed (the character reference is optional); the form is built from the config; the video plays", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("text-to-video"));
  await page.goto("/");
  await expect(page.getByTestId("tool-workflow-text-to-video")).toBeVisible();
  await expect(page.getByTestId("tool-workflow-product-shots")).toBeVisible();
  await page.getByTestId("tool-workflow-text-to-video").click();
  await expect(page.getByRole("radio", { name: /Text to Video/ })).toBeChecked();

  // One image, optional: the character reference, with its help text; Execute does not wait for it.
  await expect(page.getByRole("heading", { name: "Add the character reference (optional)" })).toBeVisible();
  await expect(page.locator('input[type="file"]')).toHaveCount(1);
  await expect(page.getByText("A face or character to keep in the video.", { exact: false })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Describe the result" })).toBeVisible();
  const execute = page.getByRole("button", { name: "Execute" });
  // The prompt is required and has no default: Execute waits for it, and says why.
  await expect(execute).toBeDisabled();
  await expect(page.locator("#execute-hint")).toHaveText("Prompt is required.");
  await page.getByRole("textbox", { name: /^Prompt/ }).fill("A lighthouse on a cliff at dusk");
  await expect(page.getByRole("combobox", { name: "Aspect ratio" })).toHaveValue("16:9");
  await page.getByRole("combobox", { name: "Aspect ratio" }).selectOption("9:16");
  await expect(page.getByRole("checkbox", { name: "Let the video model rewrite the prompt" })).toBeChecked();

  // A bad number is shown next to its field, tied to it for screen readers, and blocks Execute.
  const steps = page.getByRole("spinbutton", { name: "Image steps" });
  await steps.fill("9");
  await steps.blur();
  await expect(steps).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByTestId("field-error-image_steps")).toHaveText("Image steps must be at most 4.");
  await expect(steps).toHaveAttribute("aria-describedby", /.+/);
  await expect(execute).toBeDisabled();
  await steps.fill("3");
  await expect(page.getByTestId("field-error-image_steps")).toHaveCount(0);
  await page.getByRole("textbox", { name: "Seed" }).fill("1234");

  // The model choice: a select with each model's price (free here: the models run locally).
  const model = page.getByRole("combobox", { name: "Model for “Generate image”" });
  await expect(model).toHaveValue("black-forest-labs/flux-schnell");
  await model.selectOption("black-forest-labs/flux-dev");
  await screenshot(page, testInfo, "text-to-video-form");

  await execute.click();
  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  await expect(step(page, 0).getByTestId("step-0-output").locator("img")).toBeVisible();
  await expectVideoPlays(page.getByTestId("result-video"));
  // The generated frame can seed a run of an image workflow.
  await expect(page.getByRole("button", { name: "Use the edited image as input" })).toBeVisible();

  const jobId = (await panel.getAttribute("data-job-id"))!;
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { inputs: Record<string, string>; models: Record<string, string>; input_file: unknown } };
  expect(details.job).toMatchObject({ inputs: { aspect_ratio: "9:16", image_steps: "3", seed: "1234", prompt_optimizer: "true" }, models: { image_generation: "black-forest-labs/flux-dev" }, input_file: null });
  await screenshot(page, testInfo, "text-to-video-completed");

  // The chosen model is where a person looks for it: the Runs list row (not the default) and the run's facts.
  await page.goto("/runs");
  await expect(page.getByTestId("run-row-models")).toContainText("with FLUX dev (detailed)");
  await page.getByTestId("run-row").click();
  await expect(page.getByTestId("run-model-image_generation")).toHaveText("FLUX dev (detailed) · black-forest-labs/flux-dev");
  await expect(page.getByText("Model for “Generate image”")).toBeVisible();
});

test("Text to Video with a character reference: the optional image is sent in its own field, kept with the run and given to the video step", async ({ page }) => {
  await signUpAndSignIn(page.request, newUser("text-to-video-reference"));
  await page.goto("/workflows?workflow=text-to-video");
  await expect(page.getByRole("radio", { name: /Text to Video/ })).toBeChecked();
  await page.getByRole("textbox", { name: /^Prompt/ }).fill("A knight on a hill");
  const reference = await sharp({ create: { width: 96, height: 96, channels: 3, background: "#aa33cc" } }).png().toBuffer();
  await page.locator('input[type="file"]').setInputFiles({ name: "knight.png", mimeType: "image/png", buffer: reference });
  await expect(page.getByTestId("picked-file")).toContainText("knight.png");
  await page.getByRole("button", { name: "Execute" }).click();

  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  await expectVideoPlays(page.getByTestId("result-video"));
  const jobId = (await panel.getAttribute("data-job-id"))!;
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { input_file: { filename: string; width: number } | null } };
  expect(details.job.input_file).toMatchObject({ filename: "knight.png", width: 96 });
  // The reference was kept for the video step, which gave it to the model.
  const kept = await page.request.get(`/files/jobs/${jobId}/1-video_generation-subject-reference.png`);
  expect(kept.status()).toBe(200);
  expect(Buffer.from(await kept.body()).equals(reference)).toBe(true);
});

test("Product Shots: the photo goes in its own field, and the result is an image in the result view and the Runs list", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("product-shots"));
  await page.goto("/workflows?workflow=product-shots");
  await expect(page.getByRole("radio", { name: /Product Shots/ })).toBeChecked();
  await expect(page.getByRole("heading", { name: "Add the product photo" })).toBeVisible();
  await expect(page.getByRole("button", { name: "Execute" })).toBeDisabled();

  const photo = await sharp(Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="480" height="360"><rect width="480" height="360" fill="#f3f3f1"/><rect x="170" y="80" width="140" height="200" rx="16" fill="#1e6f5c"/></svg>`))
    .jpeg({ quality: 90 })
    .toBuffer();
  await page.locator('input[type="file"]').setInputFiles({ name: "bottle.jpg", mimeType: "image/jpeg", buffer: photo });
  await expect(page.getByTestId("picked-file")).toContainText("bottle.jpg");
  await page.getByRole("textbox", { name: /^Scene/ }).fill("On a marble counter by a window");
  await page.getByRole("button", { name: "Execute" }).click();

  // The scene runs as three candidates by default: the run waits for a pick, shown side by side.
  const panel = page.getByTestId("job-panel");
  await expect(panel).toHaveAttribute("data-status", "awaiting_input", { timeout: 90_000 });
  const card = page.getByTestId("candidates-card");
  await expect(card.getByRole("heading", { name: "Pick a candidate for Place into a scene" })).toBeVisible();
  await expect(card.getByTestId("candidate")).toHaveCount(3);
  await screenshot(page, testInfo, "product-shots-candidates");
  await card.getByRole("button", { name: "Use candidate 3" }).click();

  await expect(panel).toHaveAttribute("data-status", "completed", { timeout: 90_000 });
  const jobId = (await panel.getAttribute("data-job-id"))!;
  const details = (await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { checkpoints: Record<string, { picked_candidate?: number }> };
  expect(details.checkpoints["2"]!.picked_candidate).toBe(3);
  await expect(page.getByRole("heading", { name: "Your image" })).toBeVisible();
  const result = page.getByTestId("result-image");
  await expect(result).toBeVisible();
  await expect.poll(() => result.evaluate((image: HTMLImageElement) => image.naturalWidth)).toBeGreaterThan(0);
  await expect(page.getByRole("link", { name: "Download image" })).toHaveAttribute("href", new RegExp(`^/files/jobs/${jobId}/3-upscale\\.png$`));
  await expect(page.getByTestId("result-video")).toHaveCount(0);
  await screenshot(page, testInfo, "product-shots-completed");

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Runs" }).click();
  const row = page.locator(`[data-testid="run-row"][data-job-id="${jobId}"]`);
  await expect(row).toContainText("Product Shots");
  await expect(row).toContainText("Completed");
  // It ran the default background remover: the row names no model.
  await expect(row.getByTestId("run-row-models")).toHaveCount(0);
  // The thumbnail is the result image, not a video still.
  await expect(row.locator(`img[src="/files/jobs/${jobId}/3-upscale.png"]`)).toHaveCount(1);
  await expect(row.locator("video")).toHaveCount(0);
  await screenshot(page, testInfo, "product-shots-runs");
});
