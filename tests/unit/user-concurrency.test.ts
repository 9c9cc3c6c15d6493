import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/config";
import { inngestSettings } from "@/lib/inngest/deps";

/** WORKFLOW_USER_CONCURRENCY is the one per-user limit: the in-process runner's, and Inngest's concurrency key. */
describe("per-user concurrency setting", () => {
  const base = { APP_URL: "http://localhost:3000" };

  it("is unset by default: in-process only WORKFLOW_CONCURRENCY caps a user, Inngest keeps INNGEST_USER_CONCURRENCY's 2", () => {
    const config = loadConfig(base);
    expect(config.WORKFLOW_USER_CONCURRENCY).toBeUndefined();
    expect(inngestSettings(config, []).userConcurrency).toBe(2);
  });

  it("sets Inngest's per-user key limit when given", () => {
    const config = loadConfig({ ...base, WORKFLOW_USER_CONCURRENCY: "3", INNGEST_USER_CONCURRENCY: "5" });
    expect(config.WORKFLOW_USER_CONCURRENCY).toBe(3);
    expect(inngestSettings(config, []).userConcurrency).toBe(3);
  });

  it("refuses a limit below one", () => {
    expect(() => loadConfig({ ...base, WORKFLOW_USER_CONCURRENCY: "0" })).toThrow(/WORKFLOW_USER_CONCURRENCY/);
  });
});
