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
import { type RetryReason, isHardError, isRetryableError } from "@/lib/workflows/errors";
import type { Logger } from "@/lib/log";
import type { HealthStatus, ModelProvider, StorageProvider } from "@/lib/providers/types";
import { Circuit, type Admission, type CircuitSnapshot } from "@/lib/providers/circuit";

export type { CircuitSnapshot, CircuitState } from "@/lib/providers/circuit";

const OPENING_REASONS: ReadonlySet<RetryReason> = new Set<RetryReason>(["auth", "quota", "outage"]);

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
      circuit.advanceWave();
      const wave = circuit.wave;
      if (circuit.state === "recovering" && wave && wave.admitted >= wave.cap) {
        const seconds = Math.ceil((circuit.waveEndsAt(wave) - this.now()) / 1000);
        return { healthy: false, detail: `recovering: this wave's ${wave.cap} job(s) are admitted; the next wave starts in ${seconds}s` };
      }
    }
    return this.probe(name);
  }

  /** The circuits' states, for logs, health endpoints and tests. */
  snapshot(): Record<string, CircuitSnapshot> {
    const result: Record<string, CircuitSnapshot> = {};
    for (const [name, circuit] of this.circuits) result[name] = circuit.snapshot();
    return result;
  }

  private async call<T>(name: string, admission: Admission, fn: () => Promise<T>): Promise<T> {
    const circuit = this.circuit(name);
    if (circuit.state === "open" && this.now() - circuit.lastProbeAt >= this.probeIntervalMs) await this.probe(name);
    // From the admission decision to counting the call in flight without an await: two calls
    // arriving together cannot both see an idle provider.
    const refusal = circuit.refuse(admission);
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
    circuit.open(error.reason, error.message);
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
        if (circuit.state === "open") circuit.startRecovery();
      } else {
        // A throttled probe says nothing about health; any other failed probe opens (or keeps open) the circuit.
        const reason = reasonFromDetail(status.detail);
        if (reason !== "rate_limit") circuit.open(reason, status.detail ?? "health check failed");
      }
      return status;
    })().finally(() => {
      circuit.probing = undefined;
    });
    return circuit.probing;
  }

  private circuit(name: string): Circuit {
    let circuit = this.circuits.get(name);
    if (!circuit) {
      circuit = new Circuit(name, { waveSize: this.waveSize, waveIntervalMs: this.waveIntervalMs, now: this.now, logger: this.logger });
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
