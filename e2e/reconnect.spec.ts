import { expect, newUser, screenshot, signUpAndSignIn, startRunWithApi, step, test } from "./support/fixtures";

interface SseEvent {
  id: number;
  type: string;
  data: { step?: number };
  raw: string;
}

function parseSse(text: string): SseEvent[] {
  return text.split("\n\n").flatMap((block) => {
    const id = /^id: (\d+)$/m.exec(block)?.[1];
    const type = /^event: (\w+)$/m.exec(block)?.[1];
    const data = /^data: (.*)$/m.exec(block)?.[1];
    return id && type && data ? [{ id: Number(id), type, data: JSON.parse(data) as { step?: number }, raw: block }] : [];
  });
}

test("a dropped stream reconnects from the last event seen and the tracker catches up", async ({ page }, testInfo) => {
  await signUpAndSignIn(page.request, newUser("reconnect"));
  const jobId = await startRunWithApi(page.request);
  await expect
    .poll(async () => ((await (await page.request.get(`/workflows/execution/${jobId}`)).json()) as { job: { status: string } }).job.status, { timeout: 60_000 })
    .toBe("completed");
  const events = parseSse(await (await page.request.get(`/jobs/${jobId}/stream`)).text());
  // The connection drops just after the image edit started: the browser saw only this much.
  const cut = events.findIndex((event) => event.type === "progress" && event.data.step === 1);
  expect(cut).toBeGreaterThan(0);
  const seen = events.slice(0, cut + 1);

  let connections = 0;
  let resumedFrom: string | undefined;
  let releaseReconnect!: () => void;
  const reconnectAllowed = new Promise<void>((resolve) => (releaseReconnect = resolve));
  await page.route(`**/jobs/${jobId}/stream**`, async (route) => {
    connections += 1;
    if (connections === 1) {
      await route.fulfill({
        status: 200,
        headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
        body: `retry: 500\n\n${seen.map((event) => event.raw).join("\n\n")}\n\n`,
      });
      return;
    }
    resumedFrom = new URL(route.request().url()).searchParams.get("last_event_id") ?? undefined;
    await reconnectAllowed;
    await route.continue();
  });

  await page.goto(`/runs/${jobId}`);
  await expect(step(page, 0)).toHaveAttribute("data-status", "completed");
  await expect(step(page, 1)).toHaveAttribute("data-status", "running");
  await expect(page.getByTestId("stream-state")).toHaveAttribute("data-state", "reconnecting");
  await screenshot(page, testInfo, "01-reconnecting");

  releaseReconnect();
  await expect(step(page, 2)).toHaveAttribute("data-status", "completed");
  await expect(page.getByTestId("job-panel")).toHaveAttribute("data-status", "completed");
  expect(resumedFrom).toBe(String(seen.at(-1)!.id));
  await expect(page.getByTestId("result-video")).toBeVisible();
});
