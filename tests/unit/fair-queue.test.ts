import { describe, expect, it } from "vitest";
import { FairQueue } from "@/lib/engine/fair-queue";

const anyone = () => true;

function takeAll(queue: FairQueue, eligible: (userId: string) => boolean = anyone): string[] {
  const taken: string[] = [];
  for (let next = queue.take(eligible); next; next = queue.take(eligible)) taken.push(next.jobId);
  return taken;
}

describe("FairQueue", () => {
  it("serves users in turn, each user's jobs in the order they came", () => {
    const queue = new FairQueue();
    for (const jobId of ["a1", "a2", "a3"]) queue.push("alice", jobId);
    for (const jobId of ["b1", "b2"]) queue.push("bob", jobId);
    queue.push("carol", "c1");
    expect(queue.size).toBe(6);
    expect(takeAll(queue)).toEqual(["a1", "b1", "c1", "a2", "b2", "a3"]);
    expect(queue.size).toBe(0);
  });

  it("gives the next turn to a user who arrives after another user's long run of turns", () => {
    const queue = new FairQueue();
    for (let i = 1; i <= 20; i += 1) queue.push("alice", `a${i}`);
    expect([queue.take(anyone)?.jobId, queue.take(anyone)?.jobId]).toEqual(["a1", "a2"]);
    queue.push("bob", "b1");
    expect(queue.take(anyone)).toEqual({ jobId: "b1", userId: "bob" });
    expect(queue.take(anyone)?.jobId).toBe("a3");
  });

  it("skips a user the caller says may not run more now, and answers undefined when nobody may", () => {
    const queue = new FairQueue();
    queue.push("alice", "a1");
    queue.push("bob", "b1");
    queue.push("bob", "b2");
    expect(takeAll(queue, (userId) => userId === "bob")).toEqual(["b1", "b2"]);
    expect(queue.take((userId) => userId === "bob")).toBeUndefined();
    expect(queue.drain()).toEqual(["a1"]);
    expect(queue.take(anyone)).toBeUndefined();
  });

  it("answers the order it will serve the waiting jobs in, knowing whose turn was last, without taking any", () => {
    const queue = new FairQueue();
    for (const jobId of ["a1", "a2", "a3"]) queue.push("alice", jobId);
    for (const jobId of ["b1", "b2"]) queue.push("bob", jobId);
    expect(queue.take(anyone)?.jobId).toBe("a1");
    queue.push("carol", "c1");
    // Alice just had her turn: Carol (new) and Bob (never served) come first.
    const order = queue.order();
    expect(order.map((entry) => entry.jobId)).toEqual(["b1", "c1", "a2", "b2", "a3"]);
    expect(order[1]).toEqual({ jobId: "c1", userId: "carol" });
    expect(queue.size).toBe(5);
    expect(takeAll(queue)).toEqual(order.map((entry) => entry.jobId));
    expect(queue.order()).toEqual([]);
  });
});
