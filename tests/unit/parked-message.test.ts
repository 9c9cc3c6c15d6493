import { describe, expect, it } from "vitest";
import { parkedMessage, type ParkedFacts } from "@/components/jobs/parked-message";

const facts = (reason: string | null, overrides: Partial<ParkedFacts> = {}): ParkedFacts => ({
  reason,
  service: "the model provider",
  nextRetryAt: "14:05:09",
  attempts: { made: 1, next: 2, limit: 5 },
  ...overrides,
});

describe("parkedMessage: what a parked run says, per reason", () => {
  it("insufficient credit: top up, then Retry now; the automatic retry cannot succeed before (issue 17)", () => {
    const message = parkedMessage(facts("quota"));
    expect(message).toEqual({
      title: "The model provider is out of credit",
      body: "It refused this step because the account has insufficient credit.",
      advice:
        "Top up the account's credit, then press Retry now. Montage also tries again by itself at 14:05:09, but that cannot succeed before the top-up. That will be attempt 2 of 5.",
      retryHelps: true,
    });
  });

  it("rate limit (the provider's, or Montage pacing a recovering provider): it resumes by itself at the time", () => {
    const message = parkedMessage(facts("rate_limit", { attempts: { made: 0, next: 1, limit: 5 } }));
    expect(message.title).toBe("Waiting for the model provider");
    expect(message.advice).toBe("This run resumes by itself at 14:05:09; there is nothing you need to do. That will be attempt 1 of 5.");
    expect(message.retryHelps).toBe(false);
  });

  it.each([
    ["outage", "The model provider is unavailable", "Montage tries again by itself at 14:05:09, or press Retry now to try at once."],
    ["timeout", "The model provider took too long", "Montage tries again by itself at 14:05:09, or press Retry now to try at once."],
    ["auth", "Montage cannot sign in to the model provider", "Whoever runs this Montage needs to renew the key for the model provider; then press Retry now."],
  ])("%s", (reason, title, advice) => {
    const message = parkedMessage(facts(reason));
    expect(message.title).toBe(title);
    expect(message.advice.startsWith(advice)).toBe(true);
    expect(message.retryHelps).toBe(true);
  });

  it("names the service of the step, and never the internal reason code", () => {
    for (const reason of ["quota", "rate_limit", "outage", "auth", "timeout", "something_new", null]) {
      const message = parkedMessage(facts(reason, { service: "the storage service" }));
      const text = `${message.title} ${message.body} ${message.advice}`;
      expect(text).toMatch(/storage service|paused/i);
      expect(text).not.toMatch(/rate_limit|\bquota\b|reason:|something_new/);
    }
  });

  it("without a retry time or a next attempt, it does not invent one", () => {
    const message = parkedMessage(facts("outage", { nextRetryAt: null, attempts: { made: 5, next: null, limit: 5 } }));
    expect(message.advice).toBe("Montage tries again by itself shortly, or press Retry now to try at once.");
  });
});
