import "server-only";
/**
 * The provider health gate: one circuit per provider name, in this process, wrapped around the
 * providers in `./index.ts` so that neither the engine nor the workflows know it is there.
 *
 * - closed: calls go through. An `auth` or `quota` RetryableError opens the circuit at once (they are
 *   account-wide: every other call would fail the same way); `outage` opens it after
 *   `outageThreshold` in a row (one 502 from a load balancer should not park every job).
 * - open: calls fail fast with a park-only RetryableError (`parkOnly: true`): the step parks as
 *   `pending_retry` without spending one of its attempts, because it never reached the provider.
 *   The retry sweep's health check (`checkHealth`) probes the provider; so does a call arriving once
 *   `probeIntervalMs` has passed since the last probe, so a circuit never stays open only because no
 *   parked job happened to be due.
 * - recovering: the probe passed. Parked jobs come back in bounded waves: `waveSize` jobs in the
 *   first wave, twice as many in each next one, one wave per `waveIntervalMs`. A job is admitted on
 *   its first entry call (a model run, by its jobId; a storage put, by its key's folder, which is
 *   per job: "jobs/<jobId>/...") and then runs its later steps freely. Waves pace a backlog, so a
 *   job that asks while nothing else is running on the provider is admitted at once, full wave or
 *   not (a new run or a manual retry must not wait a whole interval behind nobody). Jobs beyond a
 *   wave's cap while others are running park again (park-only, as `rate_limit`: the provider is
 *   back, Montage is only pacing it; retry after the wave ends), and the sweep's health check
 *   reports the provider unhealthy while the wave is full, so it defers the rest instead of
 *   releasing them. A wave that ends below its cap (no backlog left) closes the circuit; an auth,
 *   quota or outage error while recovering opens it again.
 *   Replicate cannot tell from its account check whether credit is back, so a circuit opened for
 *   `quota` starts with a single trial job before the first full wave.
 */
import { RetryableError, type RetryReason, isHardError, isRetryableError } from "@/lib/workflows/errors";
import type { Logger } from "@/lib/log";
import type { HealthStatus, ModelProvider, StorageProvider } from "@/lib/providers/types";

const OPENING_REASONS: ReadonlySet<RetryReason> = new Set<RetryReason>(["auth", "quota", "outage"]);

export type CircuitState = "closed" | "open" | "recovering";

export interface HealthGateOptions {
  /** Entry calls admitted in the first wave after a provider recovers; each next wave doubles it. */
  waveSize: number;
  /** Length of a wave; the in-process driver uses its sweep interval. */
  waveIntervalMs: number;
  /** Consecutive outage errors that open a closed circuit (default 3). */
  outageThreshold?: number;
  /** While open, a call probes the provider itself when the last probe is this old (default: waveIntervalMs). */
  probeIntervalMs?: number;
  now?: () => number;
  logger?: Logger;
}

export interface CircuitSnapshot {
  state: CircuitState;
  /** Why it opened (kept while recovering). */
  reason?: RetryReason;
  message?: string;
  since: string;
  wave?: { index: number; cap: number; admitted: number; endsAt: string };
}

interface Wave {
  index: number;
  cap: number;
  admitted: number;
  startedAt: number;
  /** Jobs admitted since recovery began (all waves): they run their later steps without counting again. */
  jobs: Set<string>;
}

interface Circuit {
  state: CircuitState;
  since: number;
  reason: RetryReason;
  message: string;
  consecutiveOutages: number;
  lastProbeAt: number;
  wave: Wave | undefined;
  probing: Promise<HealthStatus> | undefined;
  /** Calls through this circuit that have not returned yet: "is anything running on the provider?". */
  inFlight: number;
}

/** An entry call names the job it belongs to; a follow-up (a read) only needs the circuit not to be open. */
type Admission = { job: string } | "follow-up";

export class HealthGate {
  private readonly circuits = new Map<string, Circuit>();
  private readonly probes = new Map<string, () => Promise<HealthStatus>>();
  private readonly waveSize: number;
  private readonly waveIntervalMs: number;
  private readonly outageThreshold: number;
  private readonly probeIntervalMs: number;
  private readonly now: () => number;
  private readonly logger: Logger | undefined;

  constructor(options: HealthGateOptions) {
    this.waveSize = Math.max(1, Math.floor(options.waveSize));
    this.waveIntervalMs = options.waveIntervalMs;
    this.outageThreshold = Math.max(1, options.outageThreshold ?? 3);
    this.probeIntervalMs = options.probeIntervalMs ?? options.waveIntervalMs;
    this.now = options.now ?? Date.now;
    this.logger = options.logger;
  }

  /**
   * The same provider behind its circuit. A Proxy, so that it still is what it wraps (`instanceof`,
   * provider-specific methods such as LocalStorage.locate keep working); only `run` and
   * `checkHealth` go through the gate.
   */
  guardModels<T extends ModelProvider>(models: T): T {
    const name = models.name;
    this.probes.set(name, () => models.checkHealth());
    const run: ModelProvider["run"] = (request) => this.call(name, { job: request.jobId }, () => models.run(request));
    const checkHealth = () => this.checkHealth(name);
    return guarded(models, { run, checkHealth });
  }

  /** Like guardModels: `put` is an entry call (counted in recovery waves), `read` only needs a closed or recovering circuit. */
  guardStorage<T extends StorageProvider>(storage: T): T {
    const name = storage.name;
    this.probes.set(name, () => storage.checkHealth());
    const put: StorageProvider["put"] = (request) => this.call(name, { job: folderOf(request.key) }, () => storage.put(request));
    const read: StorageProvider["read"] = (url, signal) => this.call(name, "follow-up", () => storage.read(url, signal));
    const checkHealth = () => this.checkHealth(name);
    return guarded(storage, { put, read, checkHealth });
  }

  /**
   * For the retry sweep: probes the provider (once at a time) and moves its circuit accordingly.
   * Unhealthy while a recovery wave is full, so the sweep defers the rest of the parked jobs.
   */
  async checkHealth(name: string): Promise<HealthStatus> {
    const circuit = this.circuit(name);
    if (circuit.state === "recovering") {
      this.advanceWave(name, circuit);
      const wave = circuit.wave;
      if (circuit.state === "recovering" && wave && wave.admitted >= wave.cap) {
        const seconds = Math.ceil((wave.startedAt + this.waveIntervalMs - this.now()) / 1000);
        return { healthy: false, detail: `recovering: this wave's ${wave.cap} job(s) are admitted; the next wave starts in ${seconds}s` };
      }
    }
    return this.probe(name);
  }

  /** The circuits' states, for logs, health endpoints and tests. */
  snapshot(): Record<string, CircuitSnapshot> {
    const result: Record<string, CircuitSnapshot> = {};
    for (const [name, circuit] of this.circuits) {
      const wave = circuit.wave;
      result[name] = {
        state: circuit.state,
        ...(circuit.state !== "closed" && { reason: circuit.reason, message: circuit.message }),
        since: new Date(circuit.since).toISOString(),
        ...(circuit.state === "recovering" &&
          wave && {
            wave: {
              index: wave.index,
              cap: wave.cap,
              admitted: wave.admitted,
              endsAt: new Date(wave.startedAt + this.waveIntervalMs).toISOString(),
            },
          }),
      };
    }
    return result;
  }

  private async call<T>(name: string, admission: Admission, fn: () => Promise<T>): Promise<T> {
    const circuit = this.circuit(name);
    if (circuit.state === "open" && this.now() - circuit.lastProbeAt >= this.probeIntervalMs) await this.probe(name);
    // From the admission decision to counting the call in flight without an await: two calls
    // arriving together cannot both see an idle provider.
    const refusal = this.refuse(name, circuit, admission);
    if (refusal) throw refusal;
    circuit.inFlight += 1;
    try {
      const result = await fn();
      circuit.consecutiveOutages = 0;
      return result;
    } catch (error) {
      this.observeFailure(name, error);
      throw error;
    } finally {
      circuit.inFlight -= 1;
    }
  }

  /** Why this call may not go through now, or undefined when it may. */
  private refuse(name: string, circuit: Circuit, admission: Admission): RetryableError | undefined {
    if (circuit.state === "closed") return undefined;
    if (circuit.state === "open") return this.refusal(name, circuit);
    this.advanceWave(name, circuit);
    const wave = circuit.wave;
    if (circuit.state !== "recovering" || !wave || admission === "follow-up" || wave.jobs.has(admission.job)) return undefined;
    // A wave paces a backlog against the provider; with nothing running on it there is nobody to pace.
    if (wave.admitted < wave.cap || circuit.inFlight === 0) {
      wave.admitted += 1;
      wave.jobs.add(admission.job);
      return undefined;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((wave.startedAt + this.waveIntervalMs - this.now()) / 1000));
    const others = circuit.inFlight === 1 ? "1 other run is" : `${circuit.inFlight} other runs are`;
    // rate_limit, not the reason it was down: the provider is back, Montage is only pacing it.
    return new RetryableError(
      "rate_limit",
      `${name} is back after being unavailable (${circuit.reason}) and takes runs a few at a time: ${others} using it now; this one starts with the next group`,
      { provider: name, parkOnly: true, retryAfterSeconds },
    );
  }

  private observeFailure(wrappedName: string, error: unknown): void {
    if (isHardError(error)) {
      // The provider answered: whatever was wrong, it is up.
      this.circuit(error.provider ?? wrappedName).consecutiveOutages = 0;
      return;
    }
    if (!(isRetryableError(error)) || error.parkOnly) return;
    const name = error.provider ?? wrappedName;
    const circuit = this.circuit(name);
    if (!OPENING_REASONS.has(error.reason)) {
      if (error.reason === "rate_limit") circuit.consecutiveOutages = 0;
      return;
    }
    if (error.reason === "outage" && circuit.state === "closed") {
      circuit.consecutiveOutages += 1;
      if (circuit.consecutiveOutages < this.outageThreshold) return;
    }
    this.open(name, circuit, error.reason, error.message);
  }

  private probe(name: string): Promise<HealthStatus> {
    const check = this.probes.get(name);
    if (!check) return Promise.resolve({ healthy: true }); // a provider this process does not use
    const circuit = this.circuit(name);
    circuit.probing ??= (async () => {
      let status: HealthStatus;
      try {
        status = await check();
      } catch (error) {
        status = { healthy: false, detail: error instanceof Error ? error.message : String(error) };
      }
      circuit.lastProbeAt = this.now();
      if (status.healthy) {
        if (circuit.state === "open") this.startRecovery(name, circuit);
      } else {
        // A throttled probe says nothing about health; any other failed probe opens (or keeps open) the circuit.
        const reason = reasonFromDetail(status.detail);
        if (reason !== "rate_limit") this.open(name, circuit, reason, status.detail ?? "health check failed");
      }
      return status;
    })().finally(() => {
      circuit.probing = undefined;
    });
    return circuit.probing;
  }

  private open(name: string, circuit: Circuit, reason: RetryReason, message: string): void {
    const wasOpen = circuit.state === "open";
    const now = this.now();
    circuit.state = "open";
    circuit.reason = reason;
    circuit.message = message;
    circuit.consecutiveOutages = 0;
    circuit.wave = undefined;
    // The failure that opened it counts as the latest probe: the next one is due a full interval later.
    circuit.lastProbeAt = now;
    if (!wasOpen) {
      circuit.since = now;
      this.logger?.warn("provider circuit opened: its steps park without spending attempts", { provider: name, reason, error: message });
    }
  }

  private startRecovery(name: string, circuit: Circuit): void {
    const now = this.now();
    circuit.state = "recovering";
    circuit.since = now;
    // Only a real call can show that credit is back: start with one trial job.
    const cap = circuit.reason === "quota" ? 1 : this.waveSize;
    circuit.wave = { index: 0, cap, admitted: 0, startedAt: now, jobs: new Set() };
    this.logger?.info("provider recovered; releasing parked jobs in waves", { provider: name, reason: circuit.reason, first_wave: cap });
  }

  /** Starts the next wave when the current one has ended, or closes the circuit when there was no backlog. */
  private advanceWave(name: string, circuit: Circuit): void {
    const wave = circuit.wave;
    if (circuit.state !== "recovering" || !wave) return;
    const now = this.now();
    if (now < wave.startedAt + this.waveIntervalMs) return;
    if (wave.admitted < wave.cap) {
      circuit.state = "closed";
      circuit.since = now;
      circuit.wave = undefined;
      circuit.consecutiveOutages = 0;
      this.logger?.info("provider circuit closed", { provider: name });
      return;
    }
    const cap = wave.cap < this.waveSize ? this.waveSize : wave.cap * 2;
    circuit.wave = { index: wave.index + 1, cap, admitted: 0, startedAt: now, jobs: wave.jobs };
    this.logger?.info("provider recovery: next wave", { provider: name, wave: wave.index + 1, cap });
  }

  private refusal(name: string, circuit: Circuit): RetryableError {
    return new RetryableError(
      circuit.reason,
      `${name} is unavailable (${circuit.reason}) since ${new Date(circuit.since).toISOString()}; this run waits for it to recover, without spending an attempt: ${circuit.message}`,
      { provider: name, parkOnly: true },
    );
  }

  private circuit(name: string): Circuit {
    let circuit = this.circuits.get(name);
    if (!circuit) {
      circuit = {
        state: "closed",
        since: this.now(),
        reason: "outage",
        message: "",
        consecutiveOutages: 0,
        lastProbeAt: Number.NEGATIVE_INFINITY,
        wave: undefined,
        probing: undefined,
        inFlight: 0,
      };
      this.circuits.set(name, circuit);
    }
    return circuit;
  }
}

/**
 * The providers' health details start with the reason ("auth: ...", "quota: ..."), as ReplicateModels
 * and CloudinaryStorage write them. Anything else unhealthy, a probe timeout included, is an outage.
 */
function reasonFromDetail(detail: string | undefined): RetryReason {
  const prefix = /^([a-z_]+):/.exec(detail ?? "")?.[1];
  if (prefix === "auth" || prefix === "quota" || prefix === "rate_limit") return prefix;
  return "outage";
}

/** "jobs/<jobId>/1-image_edit.png" → "jobs/<jobId>": keys are deterministic per job and step. */
function folderOf(key: string): string {
  return key.slice(0, Math.max(0, key.lastIndexOf("/")));
}

function guarded<T extends object>(target: T, overrides: Record<string, unknown>): T {
  return new Proxy(target, {
    get(object, property, receiver) {
      if (typeof property === "string" && Object.hasOwn(overrides, property)) return overrides[property];
      const value: unknown = Reflect.get(object, property, receiver);
      // Bound to the provider itself: its own internal calls never pass through the gate again.
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(object) : value;
    },
  });
}
