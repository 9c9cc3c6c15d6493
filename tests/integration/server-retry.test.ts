import { beforeAll, describe, expect, it } from "vitest";
import { jpegBlob, readSse } from "../helpers/api";
import type { RunningServer } from "../helpers/server";
import { useServerSuite } from "../helpers/suites";

/** An event field as the sequence below writes it: strings and numbers as they are, anything else empty. */
const text = (value: unknown) => (typeof value === "string" || typeof value === "number" ? String(value) : "");

/**
 * The real server with the fault switch on and the sweep every second: the run parks, the stream
 * says so, the sweep resumes it at step 3 without re-running steps 1 and 2, and it completes.
 */
describe("retry sweep in the running server", () => {
  const suite = useServerSuite("sqlite", "sweep@example.com");
  let server: RunningServer;

  beforeAll(async () => {
    server = await suite.start({ LOCAL_PROVIDER_FAULTS: "video:quota:1", WORKFLOW_RETRY_INTERVAL_SECONDS: "1" });
  });

  it("parks on quota, resumes from the sweep at step 3, and completes", async () => {
    const form = new FormData();
    form.append("workflow_id", "img-edit-to-video");
    form.append("file", jpegBlob(), "photo.jpg");
    const response = await fetch(`${server.url}/workflows/execute`, { method: "POST", body: form, headers: { authorization: `Bearer ${suite.token}` } });
    const { job_id: jobId, stream_url: streamUrl } = (await response.json()) as { job_id: string; stream_url: string };

    const events = await readSse(await fetch(`${server.url}${streamUrl}`, { headers: { authorization: `Bearer ${suite.token}` } }));
    const sequence = events.filter((e) => e.event !== "progress").map((e) => `${e.event}:${text(e.data.step)}:${text(e.data.status)}`);
    expect(sequence).toEqual([
      "checkpoint:0:completed",
      "checkpoint:1:completed",
      "checkpoint:2:failed_retryable",
      "retry_scheduled:2:",
      "checkpoint:2:completed",
      "complete::",
    ]);
    const stepStarts = events
      .filter((e) => e.event === "progress" && e.data.step_progress === 0 && ["Upload image", "Edit image with AI", "Generate video"].includes(e.data.message as string))
      .map((e) => e.data.step);
    expect(stepStarts).toEqual([0, 1, 2, 2]);

    const details = (await (await fetch(`${server.url}/workflows/execution/${jobId}`, { headers: { authorization: `Bearer ${suite.token}` } })).json()) as {
      job: { status: string; attempts: number };
      execution: { retry_count: number };
    };
    expect(details.job).toMatchObject({ status: "completed", attempts: 2 });
    expect(details.execution.retry_count).toBe(1);
  });
});
