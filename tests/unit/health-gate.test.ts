import { describe, expect, it } from "vitest";
import { HardError, RetryableError, type RetryReason } from "@/lib/workflows/errors";
import { HealthGate } from "@/lib/providers/health-gate";
import type { HealthStatus, ModelOutput, ModelProvider, ModelRunRequest, PutMediaRequest, StorageProvider, StoredMedia } from "@/lib/providers/types";

/** A model provider whose next outcomes and health are set by the test. */
class ScriptedModels implements ModelProvider {
  readonly name = "scripted-models";
  calls = 0;
  probes = 0;
  health: HealthStatus = { healthy: true };
  private readonly outcomes: Array<Error | "ok" | Promise<void>> = [];

  fail(...errors: Error[]): this {
    this.outcomes.push(...errors);
    return this;
  }

  /** The next call stays in flight (running on the provider) until `release` is called. */
  hold(): { release: () => void } {
    let release!: () => void;
    this.outcomes.push(new Promise<void>((resolve) => (release = resolve)));
    return { release: () => release() };
  }

  async run(_request: ModelRunRequest): Promise<ModelOutput> {
    this.calls += 1;
    const next = this.outcomes.shift() ?? "ok";
    if (next instanceof Promise) await next;
    else if (next !== "ok") throw next;
    return { body: Buffer.from("out"), contentType: "image/png" };
  }

  async checkHealth(): Promise<HealthStatus> {
    this.probes += 1;
    await Promise.resolve();
    return this.health;
  }

  /** Provider-specific method: must stay reachable through the gate. */
  describe(): string {
    return `${this.name}:${this.calls}`;
  }
}

class MemoryStorage implements StorageProvider {
  readonly name = "memory-storage";
  puts = 0;
  reads = 0;
  async put(request: PutMediaRequest): Promise<StoredMedia> {
    this.puts += 1;
    return { url: `mem://${request.key}`, key: request.key, contentType: request.contentType, bytes: request.body.length };
  }
  async read(_url: string): Promise<{ body: Buffer; contentType: string }> {
    this.reads += 1;
    return { body: Buffer.from("x"), contentType: "image/png" };
  }
  async checkHealth(): Promise<HealthStatus> {
    return { healthy: true };
  }
}

const WAVE_MS = 60_000;

function setup(options: { waveSize?: number; outageThreshold?: number; probeIntervalMs?: number } = {}) {
  const clock = { now: 1_000_000 };
  const gate = new HealthGate({
    waveSize: options.waveSize ?? 2,
    waveIntervalMs: WAVE_MS,
    outageThreshold: options.outageThreshold ?? 3,
    probeIntervalMs: options.probeIntervalMs ?? 10 * WAVE_MS,
    now: () => clock.now,
  });
  const inner = new ScriptedModels();
  const models = gate.guardModels(inner);
  return { clock, gate, inner, models };
}

let jobCounter = 0;

/** A model run of its own job unless one is named. */
function request(jobId = `job-${++jobCounter}`): ModelRunRequest {
  return {
    model: "owner/model",
    input: {},
    jobId,
    stepIndex: 1,
    signal: new AbortController().signal,
    onProgress: async () => undefined,
    state: { get: () => undefined, save: async () => undefined },
  };
}

function failure(reason: RetryReason, provider = "scripted-models"): RetryableError {
  return new RetryableError(reason, `${reason} from the provider`, { provider });
}

async function outcome(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return "ok";
  } catch (error) {
    return error;
  }
}

describe("HealthGate: opening", () => {
  it.each(["auth", "quota"] as const)("%s opens the circuit at once; later calls park without reaching the provider", async (reason) => {
    const { gate, inner, models } = setup();
    inner.fail(failure(reason));
    expect(await outcome(models.run(request()))).toMatchObject({ reason, parkOnly: false });

    const refused = await outcome(models.run(request()));
    expect(refused).toBeInstanceOf(RetryableError);
    expect(refused).toMatchObject({ reason, provider: "scripted-models", parkOnly: true });
    expect((refused as Error).message).toMatch(/^scripted-models is unavailable \((auth|quota)\) since .*; this run waits for it to recover, without spending an attempt: /);
    expect((refused as Error).message).toContain(`${reason} from the provider`);
    expect(inner.calls).toBe(1);
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "open", reason });
  });

  it("outage opens only after consecutive failures; a success or an answer in between resets the count", async () => {
    const { gate, inner, models } = setup({ outageThreshold: 3 });
    inner.fail(failure("outage"), failure("outage"));
    await outcome(models.run(request()));
    await outcome(models.run(request()));
    await models.run(request()); // success resets
    inner.fail(failure("outage"), failure("outage"), new HardError("invalid_input", "bad", { provider: "scripted-models" }));
    for (let i = 0; i < 3; i++) await outcome(models.run(request()));
    expect(gate.snapshot()["scripted-models"]?.state).toBe("closed");

    inner.fail(failure("outage"), failure("outage"), failure("outage"));
    for (let i = 0; i < 3; i++) await outcome(models.run(request()));
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "open", reason: "outage" });
    expect(await outcome(models.run(request()))).toMatchObject({ parkOnly: true, reason: "outage" });
  });

  it("rate limits, timeouts, hard errors and cancels never open it", async () => {
    const { gate, inner, models } = setup({ outageThreshold: 1 });
    inner.fail(failure("rate_limit"), failure("timeout"), new HardError("content_rejected", "no"), new Error("bug"));
    for (let i = 0; i < 4; i++) await outcome(models.run(request()));
    expect(await models.run(request())).toMatchObject({ contentType: "image/png" });
    expect(gate.snapshot()["scripted-models"]?.state ?? "closed").toBe("closed");
  });

  it("an error naming another provider opens that provider's circuit, not the caller's", async () => {
    const { gate, inner, models } = setup();
    const storage = gate.guardStorage(new MemoryStorage());
    inner.fail(failure("auth", "memory-storage"));
    await outcome(models.run(request()));
    expect(gate.snapshot()["memory-storage"]?.state).toBe("open");
    expect(await models.run(request())).toMatchObject({ contentType: "image/png" });
    expect(await outcome(storage.put({ key: "k.png", body: Buffer.from("x"), contentType: "image/png", resourceType: "image" }))).toMatchObject({
      parkOnly: true,
      provider: "memory-storage",
    });
    expect(await outcome(storage.read("mem://k.png"))).toMatchObject({ parkOnly: true });
  });

  it("a failed probe opens a closed circuit (unless it was only throttled)", async () => {
    const { gate, inner } = setup();
    inner.health = { healthy: false, detail: "rate_limit: slow down" };
    expect(await gate.checkHealth("scripted-models")).toMatchObject({ healthy: false });
    expect(gate.snapshot()["scripted-models"]?.state).toBe("closed");
    inner.health = { healthy: false, detail: "auth: You did not pass a valid authentication token" };
    await gate.checkHealth("scripted-models");
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "open", reason: "auth" });
  });
});

describe("HealthGate: probing and recovery waves", () => {
  it("stays open while the probe fails, then releases bounded, doubling waves and closes when the backlog is gone", async () => {
    const { clock, gate, inner, models } = setup({ waveSize: 2 });
    inner.fail(failure("auth"));
    await outcome(models.run(request()));

    inner.health = { healthy: false, detail: "auth: still bad" };
    expect(await gate.checkHealth("scripted-models")).toEqual({ healthy: false, detail: "auth: still bad" });
    expect(gate.snapshot()["scripted-models"]?.state).toBe("open");

    inner.health = { healthy: true };
    expect(await gate.checkHealth("scripted-models")).toEqual({ healthy: true });
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "recovering", wave: { index: 0, cap: 2, admitted: 0 } });

    // Wave 0: two jobs run (still running on the provider), the third parks again (no attempt
    // spent, as rate_limit: the provider is back, Montage paces it) until the next wave; the
    // admitted jobs run their later steps freely.
    const a = inner.hold();
    const b = inner.hold();
    const runningA = models.run(request("a"));
    const runningB = models.run(request("b"));
    clock.now += 15_000;
    const third = await outcome(models.run(request("c")));
    expect(third).toMatchObject({ parkOnly: true, reason: "rate_limit", retryAfterSeconds: 45 });
    expect((third as Error).message).toBe(
      "scripted-models is back after being unavailable (auth) and takes runs a few at a time: 2 other runs are using it now; this one starts with the next group",
    );
    a.release();
    b.release();
    await Promise.all([runningA, runningB]);
    await models.run(request("a"));
    await models.run(request("b"));
    // The sweep sees it as unhealthy while the wave is full, so it defers instead of releasing.
    const duringWave = await gate.checkHealth("scripted-models");
    expect(duringWave.healthy).toBe(false);
    expect(duringWave.detail).toMatch(/^recovering: /);

    // Wave 1 doubles: four run at once, a fifth arriving meanwhile waits.
    clock.now += WAVE_MS;
    expect(await gate.checkHealth("scripted-models")).toEqual({ healthy: true });
    const held = [0, 1, 2, 3].map(() => inner.hold());
    const running = [0, 1, 2, 3].map(() => models.run(request()));
    expect(await outcome(models.run(request()))).toMatchObject({ parkOnly: true, reason: "rate_limit" });
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "recovering", wave: { index: 1, cap: 4, admitted: 4 } });
    held.forEach((hold) => hold.release());
    await Promise.all(running);

    // Wave 2 ends below its cap: no backlog left, the circuit closes.
    clock.now += WAVE_MS;
    await models.run(request());
    clock.now += WAVE_MS;
    await models.run(request());
    expect(gate.snapshot()["scripted-models"]?.state).toBe("closed");
    for (let i = 0; i < 20; i++) await models.run(request());
  });

  it("a job asking while nothing runs on the recovering provider runs at once, even when the wave is full (issue 17)", async () => {
    // The scenario: quota parks run 1, Retry now probes and runs it (the single trial of
    // the first wave), then run 2 starts at once: it must not wait a whole interval behind nobody.
    const { gate, inner, models } = setup({ waveSize: 5 });
    inner.fail(failure("quota"));
    await outcome(models.run(request("run-1")));
    await gate.checkHealth("scripted-models");
    await models.run(request("run-1"));
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "recovering", wave: { index: 0, cap: 1, admitted: 1 } });

    expect(await models.run(request("run-2"))).toMatchObject({ contentType: "image/png" });
    // ...and its later steps, and a manual retry of any other job, too.
    expect(await models.run(request("run-2"))).toMatchObject({ contentType: "image/png" });
    expect(await models.run(request("run-3"))).toMatchObject({ contentType: "image/png" });
    expect(inner.calls).toBe(5);
  });

  it("only one of several jobs arriving together at an idle, full wave gets in; the others wait for the next group", async () => {
    const { gate, inner, models } = setup({ waveSize: 1 });
    inner.fail(failure("auth"));
    await outcome(models.run(request()));
    await gate.checkHealth("scripted-models");
    await models.run(request("first"));

    const hold = inner.hold();
    const arrivals = ["x", "y", "z"].map((job) => outcome(models.run(request(job))));
    hold.release();
    const outcomes = await Promise.all(arrivals);
    expect(outcomes.filter((result) => result === "ok")).toHaveLength(1);
    expect(outcomes.filter((result) => result instanceof RetryableError && result.parkOnly && result.reason === "rate_limit")).toHaveLength(2);
    expect((outcomes.find((result) => result !== "ok") as Error).message).toContain("1 other run is using it now");
  });

  it("after quota the first wave is a single trial step (the account check cannot see credit)", async () => {
    const { gate, inner, models } = setup({ waveSize: 5 });
    inner.fail(failure("quota"));
    await outcome(models.run(request()));
    await gate.checkHealth("scripted-models");
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "recovering", wave: { cap: 1 } });

    // Still no credit: the trial fails with quota and the circuit opens again.
    inner.fail(failure("quota"));
    expect(await outcome(models.run(request()))).toMatchObject({ reason: "quota", parkOnly: false });
    expect(gate.snapshot()["scripted-models"]?.state).toBe("open");
    expect(await outcome(models.run(request()))).toMatchObject({ parkOnly: true });
  });

  it("one outage while recovering reopens the circuit", async () => {
    const { gate, inner, models } = setup({ outageThreshold: 3 });
    inner.fail(failure("auth"));
    await outcome(models.run(request()));
    await gate.checkHealth("scripted-models");
    inner.fail(failure("outage"));
    await outcome(models.run(request()));
    expect(gate.snapshot()["scripted-models"]).toMatchObject({ state: "open", reason: "outage" });
  });

  it("an open circuit probes by itself when a call comes after the probe interval", async () => {
    const { clock, gate, inner, models } = setup({ probeIntervalMs: 30_000 });
    inner.fail(failure("auth"));
    await outcome(models.run(request()));
    const probesBefore = inner.probes;
    clock.now += 10_000;
    expect(await outcome(models.run(request()))).toMatchObject({ parkOnly: true });
    expect(inner.probes).toBe(probesBefore);

    clock.now += 25_000;
    expect(await models.run(request())).toMatchObject({ contentType: "image/png" });
    expect(inner.probes).toBe(probesBefore + 1);
    expect(gate.snapshot()["scripted-models"]?.state).toBe("recovering");
  });

  it("probes one at a time however many ask", async () => {
    const { gate, inner, models } = setup();
    inner.fail(failure("auth"));
    await outcome(models.run(request()));
    const before = inner.probes;
    await Promise.all([gate.checkHealth("scripted-models"), gate.checkHealth("scripted-models"), models.checkHealth()]);
    expect(inner.probes - before).toBe(1);
  });

  it("reports unknown providers healthy", async () => {
    const { gate } = setup();
    expect(await gate.checkHealth("switched-off")).toEqual({ healthy: true });
  });
});

describe("HealthGate: the guarded provider", () => {
  it("is still what it wraps: instanceof, name and its own methods work, unguarded", async () => {
    const { models } = setup();
    expect(models).toBeInstanceOf(ScriptedModels);
    expect(models.name).toBe("scripted-models");
    await models.run(request());
    expect(models.describe()).toBe("scripted-models:1");
  });

  it("counts storage puts in a recovery wave by their key's folder (the job), and not reads", async () => {
    const clock = { now: 0 };
    const gate = new HealthGate({ waveSize: 1, waveIntervalMs: WAVE_MS, now: () => clock.now });
    const inner = new MemoryStorage();
    const storage = gate.guardStorage(inner);
    const put = (job: string) => storage.put({ key: `jobs/${job}/0-upload.png`, body: Buffer.from("x"), contentType: "image/png", resourceType: "image" });
    inner.put = async () => {
      throw new RetryableError("auth", "Invalid Signature", { provider: "memory-storage" });
    };
    await outcome(put("a"));
    inner.put = MemoryStorage.prototype.put.bind(inner);
    await gate.checkHealth("memory-storage");
    await put("a");
    await storage.read("mem://k.png");
    // Job a's next put is still running when b's first arrives: the wave (of one) is a's.
    let release!: () => void;
    inner.put = async (request) => {
      await new Promise<void>((resolve) => (release = resolve));
      return MemoryStorage.prototype.put.call(inner, request);
    };
    const running = put("a");
    await storage.read("mem://k.png");
    expect(await outcome(put("b"))).toMatchObject({ parkOnly: true });
    release();
    await running;
    expect(inner.reads).toBe(2);
  });
});
