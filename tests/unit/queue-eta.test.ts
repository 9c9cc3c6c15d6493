import { describe, expect, it } from "vitest";
import { median, placeInLine, queuedEtaSeconds, remainingRunSeconds, UNKNOWN_STEP_SECONDS } from "@/lib/engine/queue-eta";

describe("place in line and ETA arithmetic", () => {
  it("places a waiting job where users' turns put it, not at the end of one long line", () => {
    const waiting = [
      ...Array.from({ length: 5 }, (_, i) => ({ jobId: `a${i + 1}`, userId: "alice" })),
      { jobId: "b1", userId: "bob" },
    ];
    expect(placeInLine(waiting, "a1")).toBe(1);
    expect(placeInLine(waiting, "b1")).toBe(2);
    expect(placeInLine(waiting, "a5")).toBe(6);
    expect(placeInLine(waiting, "gone")).toBeUndefined();
  });

  it("takes the median of durations, of an even count too, and none of nothing", () => {
    expect(median([30, 10, 20])).toBe(20);
    expect(median([10, 40, 20, 30])).toBe(25);
    expect(median([])).toBeUndefined();
  });

  it("sums the remaining steps' medians, a step without any at the documented fallback", () => {
    expect(remainingRunSeconds([5, undefined, 20], 0)).toBe(25 + UNKNOWN_STEP_SECONDS);
    expect(remainingRunSeconds([5, 10, 20], 1)).toBe(30);
    expect(remainingRunSeconds([5, 10, 20], 3)).toBe(0);
  });

  it("counts the rounds ahead of a waiting job, then its own run", () => {
    expect(queuedEtaSeconds(1, 1, 10)).toBe(20);
    expect(queuedEtaSeconds(3, 1, 10)).toBe(40);
    expect(queuedEtaSeconds(3, 4, 10)).toBe(20);
  });
});
