import { describe, expect, it } from "vitest";
import { nextRetryDelaySeconds } from "@/lib/engine/backoff";
import { CanceledError, classifyError, HardError, isCanceledError, isHardError, isRetryableError, RetryableError } from "@/lib/workflows/errors";
import { InterruptedError, interruptReason } from "@/lib/engine/interrupt";
import { stepId } from "@/lib/engine/step-runner";
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
    expect(classifyError(reset)).toEqual({ kind: "retryable", reason: "outage", message: "Network error (ECONNRESET)" });
    expect(classifyError(new TypeError("fetch failed", { cause: reset }))).toMatchObject({ kind: "retryable", reason: "outage" });
  });

  it("treats timeouts as retryable", () => {
    expect(classifyError(new DOMException("The operation timed out", "TimeoutError"))).toMatchObject({ kind: "retryable", reason: "timeout" });
  });

  it("keeps everything else unknown, with the error itself (its message never reaches the job), and cancels as cancels", () => {
    const bug = new Error("bug at /srv/secret/path");
    expect(classifyError(bug)).toEqual({ kind: "unknown", error: bug });
    expect(classifyError("a string")).toEqual({ kind: "unknown", error: "a string" });
    expect(classifyError(new CanceledError())).toEqual({ kind: "canceled", message: "Canceled by user" });
  });

  it("recognises control-flow errors by their brand, also from another bundle's copy of the classes", () => {
    // What a second copy of lib/workflows/errors.ts (another Next.js bundle) makes: same brand, other class.
    const kind = Symbol.for("montage.workflow-error-kind");
    const foreignCancel = Object.assign(new Error("Canceled by user"), { name: "CanceledError", [kind]: "canceled" });
    const foreignHard = Object.assign(new Error("flagged"), { code: "content_rejected", [kind]: "hard" });
    expect(isCanceledError(foreignCancel)).toBe(true);
    expect(classifyError(foreignCancel)).toEqual({ kind: "canceled", message: "Canceled by user" });
    expect(isHardError(foreignHard)).toBe(true);
    expect(isRetryableError(foreignHard)).toBe(false);
    // A plain error named like one is not one.
    expect(isCanceledError(Object.assign(new Error("x"), { name: "CanceledError" }))).toBe(false);
  });

  it("tells why a step was interrupted, by brand", () => {
    expect(interruptReason(new InterruptedError("lease_lost"))).toBe("lease_lost");
    expect(interruptReason(Object.assign(new Error("x"), { [Symbol.for("montage.step-interrupt")]: true, reason: "shutdown" }))).toBe("shutdown");
    expect(interruptReason(new Error("Server shutting down"))).toBeUndefined();
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

  it("loads the example workflow, with its version", () => {
    const registry = buildRegistry([good]);
    expect(registry.problems).toEqual([]);
    const workflow = registry.workflows.get("img-edit-to-video");
    expect(workflow?.version).toBe("0123456789ab");
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
