import { describe, expect, it } from "vitest";
import { nextRetryDelaySeconds } from "@/lib/engine/backoff";
import { CanceledError, classifyError, HardError, RetryableError } from "@/lib/engine/errors";
import { stepId } from "@/lib/engine/executor";
import { buildRegistry } from "@/lib/workflows/registry";
import imgEditConfig from "@/workflows/img-edit-to-video/config.json";
import * as imgEditModule from "@/workflows/img-edit-to-video/workflow";

describe("classifyError", () => {
  it("keeps typed retryable errors with reason, retry-after and provider", () => {
    const error = new RetryableError("rate_limit", "slow down", { retryAfterSeconds: 30, provider: "replicate" });
    expect(classifyError(error)).toEqual({ kind: "retryable", reason: "rate_limit", message: "slow down", retryAfterSeconds: 30, provider: "replicate" });
  });

  it("keeps typed hard errors with their code", () => {
    expect(classifyError(new HardError("content_rejected", "flagged"))).toEqual({ kind: "hard", code: "content_rejected", message: "flagged" });
  });

  it("treats network errors, also nested as a cause, as a retryable outage", () => {
    const reset = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
    expect(classifyError(reset)).toMatchObject({ kind: "retryable", reason: "outage" });
    expect(classifyError(new TypeError("fetch failed", { cause: reset }))).toMatchObject({ kind: "retryable", reason: "outage" });
  });

  it("treats timeouts as retryable", () => {
    expect(classifyError(new DOMException("The operation timed out", "TimeoutError"))).toMatchObject({ kind: "retryable", reason: "timeout" });
  });

  it("treats everything else as hard, and cancels as cancels", () => {
    expect(classifyError(new Error("bug"))).toEqual({ kind: "hard", code: "step_failed", message: "bug" });
    expect(classifyError("a string")).toEqual({ kind: "hard", code: "step_failed", message: "a string" });
    expect(classifyError(new CanceledError())).toEqual({ kind: "canceled", message: "Canceled by user" });
  });

  it("marks circuit-open refusals as park-only", () => {
    expect(classifyError(new RetryableError("quota", "circuit open", { parkOnly: true }))).toMatchObject({ parkOnly: true });
  });
});

describe("nextRetryDelaySeconds", () => {
  it("doubles from the base with ±20% jitter and a cap", () => {
    const low = () => 0;
    const high = () => 1;
    expect(nextRetryDelaySeconds({ retryCount: 1, baseSeconds: 10, random: low })).toBeCloseTo(8);
    expect(nextRetryDelaySeconds({ retryCount: 1, baseSeconds: 10, random: high })).toBeCloseTo(12);
    expect(nextRetryDelaySeconds({ retryCount: 3, baseSeconds: 10, random: () => 0.5 })).toBeCloseTo(40);
    expect(nextRetryDelaySeconds({ retryCount: 30, baseSeconds: 10, maxSeconds: 100, random: () => 0.5 })).toBeCloseTo(100);
  });

  it("waits at least as long as the provider asked", () => {
    expect(nextRetryDelaySeconds({ retryCount: 1, baseSeconds: 1, retryAfterSeconds: 45, random: () => 0.5 })).toBe(45);
  });
});

describe("stepId", () => {
  it("is stable, readable kebab-case", () => {
    expect(stepId(2, "video_generation")).toBe("step-2-video-generation");
  });
});

describe("buildRegistry", () => {
  const good = { folder: "img-edit-to-video", version: "0123456789ab", config: imgEditConfig, module: imgEditModule as Record<string, unknown> };

  it("loads the example workflow", () => {
    const registry = buildRegistry([good]);
    expect(registry.problems).toEqual([]);
    const workflow = registry.workflows.get("img-edit-to-video");
    expect(workflow?.config.name).toBe("Image Edit to Video");
    expect(workflow?.config.icon).toBe("🎬");
    expect(workflow?.config.steps.map((s) => s.name)).toEqual(["upload", "image_edit", "video_generation"]);
  });

  it("reports a broken folder clearly and keeps the others", () => {
    const registry = buildRegistry(
      [
        { folder: "bad-config", version: "0123456789ab", config: { id: "Bad Id!", name: "", steps: [] }, module: {} },
        { folder: "missing-handler", version: "0123456789ab", config: { ...imgEditConfig, id: "other" }, module: { handlers: { upload: async () => ({}) } } },
        { folder: "no-handlers", version: "0123456789ab", config: { ...imgEditConfig, id: "third" }, module: {} },
        { folder: "duplicate-id", version: "0123456789ab", config: imgEditConfig, module: imgEditModule },
        good,
      ],
      [{ folder: "unparseable", problem: "config.json is not valid JSON" }],
    );
    expect([...registry.workflows.keys()]).toEqual(["img-edit-to-video"]);
    const byFolder = Object.fromEntries(registry.problems.map((p) => [p.folder, p.problem]));
    expect(byFolder["bad-config"]).toMatch(/invalid config.json: id: lowercase/);
    expect(byFolder["missing-handler"]).toBe("no handler for step(s): image_edit, video_generation");
    expect(byFolder["no-handlers"]).toMatch(/exports no `handlers`/);
    expect(byFolder.unparseable).toMatch(/not valid JSON/);
    // The first folder with an id wins; the duplicate is reported, not silently merged.
    expect(registry.problems.some((p) => p.folder === "img-edit-to-video" && /already used/.test(p.problem))).toBe(true);
  });
});
