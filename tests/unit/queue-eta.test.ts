import { describe, expect, it } from "vitest";
import { DEFAULT_STEP_SECONDS, median, placeInLine, queuedEtaSeconds, remainingRun, remainingRunSeconds, stepEstimates, UNKNOWN_STEP_SECONDS } from "@/lib/engine/queue-eta";

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

  it("expects each step to take the median of its recorded runs, else its type's documented default, and says which", () => {
    const steps = [{ type: "input" }, { type: "generation" }, { type: "something-new" }];
    const estimates = stepEstimates(steps, [
      { stepIndex: 0, ms: 1000 },
      { stepIndex: 0, ms: 3000 },
      { stepIndex: 0, ms: 2000 },
    ]);
    expect(estimates).toEqual([
      { seconds: 2, fromRuns: true },
      { seconds: DEFAULT_STEP_SECONDS.generation, fromRuns: false },
      { seconds: UNKNOWN_STEP_SECONDS, fromRuns: false },
    ]);
    expect(remainingRun(estimates, 0)).toEqual({ seconds: 2 + DEFAULT_STEP_SECONDS.generation! + UNKNOWN_STEP_SECONDS, basis: "mixed" });
    expect(remainingRun(estimates, 1).basis).toBe("defaults");
    expect(remainingRun(estimates, 0, 1500)).toEqual({ seconds: Math.round(0.5 + DEFAULT_STEP_SECONDS.generation! + UNKNOWN_STEP_SECONDS), basis: "mixed" });
    // A step that runs past its median counts as about to end, never as negative time.
    expect(remainingRun(estimates, 2, 60_000)).toEqual({ seconds: 0, basis: "defaults" });
    const recorded = stepEstimates([{ type: "generation" }], [{ stepIndex: 0, ms: 12_000 }]);
    expect(remainingRun(recorded, 0)).toEqual({ seconds: 12, basis: "recent_runs" });
  });
});
