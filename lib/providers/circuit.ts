import "server-only";
/**
 * One provider's circuit, as the health gate (./health-gate.ts) keeps it: its state, the recovery
 * waves, and which calls it lets through. The gate decides when it opens and probes; this holds what
 * follows from that.
 */
import { RetryableError, type RetryReason } from "@/lib/workflows/errors";
import type { Logger } from "@/lib/log";
import type { HealthStatus } from "@/lib/providers/types";

export type CircuitState = "closed" | "open" | "recovering";

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

/** An entry call names the job it belongs to; a follow-up (a read) only needs the circuit not to be open. */
export type Admission = { job: string } | "follow-up";

export interface CircuitOptions {
  /** Entry calls admitted in the first wave after a provider recovers; each next wave doubles it. */
  waveSize: number;
  waveIntervalMs: number;
  now: () => number;
  logger: Logger | undefined;
}

export class Circuit {
  state: CircuitState = "closed";
  since: number;
  reason: RetryReason = "outage";
  message = "";
  consecutiveOutages = 0;
  lastProbeAt = Number.NEGATIVE_INFINITY;
  wave: Wave | undefined = undefined;
  probing: Promise<HealthStatus> | undefined = undefined;
  /** Calls through this circuit that have not returned yet: "is anything running on the provider?". */
  inFlight = 0;

  constructor(
    private readonly name: string,
    private readonly options: CircuitOptions,
  ) {
    this.since = options.now();
  }

  /** When the current wave ends (the next may start), in the gate's clock. */
  waveEndsAt(wave: Wave): number {
    return wave.startedAt + this.options.waveIntervalMs;
  }

  /** Why this call may not go through now, or undefined when it may. */
  refuse(admission: Admission): RetryableError | undefined {
    if (this.state === "closed") return undefined;
    if (this.state === "open") return this.refusal();
    this.advanceWave();
    const wave = this.wave;
    if (this.state !== "recovering" || !wave || admission === "follow-up" || wave.jobs.has(admission.job)) return undefined;
    // A wave paces a backlog against the provider; with nothing running on it there is nobody to pace.
    if (wave.admitted < wave.cap || this.inFlight === 0) {
      wave.admitted += 1;
      wave.jobs.add(admission.job);
      return undefined;
    }
    const retryAfterSeconds = Math.max(1, Math.ceil((this.waveEndsAt(wave) - this.options.now()) / 1000));
    const others = this.inFlight === 1 ? "1 other run is" : `${this.inFlight} other runs are`;
    // rate_limit, not the reason it was down: the provider is back, Montage is only pacing it.
    return new RetryableError(
      "rate_limit",
      `${this.name} is back after being unavailable (${this.reason}) and takes runs a few at a time: ${others} using it now; this one starts with the next group`,
      { provider: this.name, parkOnly: true, retryAfterSeconds },
    );
  }

  open(reason: RetryReason, message: string): void {
    const wasOpen = this.state === "open";
    const now = this.options.now();
    this.state = "open";
    this.reason = reason;
    this.message = message;
    this.consecutiveOutages = 0;
    this.wave = undefined;
    // The failure that opened it counts as the latest probe: the next one is due a full interval later.
    this.lastProbeAt = now;
    if (!wasOpen) {
      this.since = now;
      this.options.logger?.warn("provider circuit opened: its steps park without spending attempts", { provider: this.name, reason, error: message });
    }
  }

  startRecovery(): void {
    const now = this.options.now();
    this.state = "recovering";
    this.since = now;
    // Only a real call can show that credit is back: start with one trial job.
    const cap = this.reason === "quota" ? 1 : this.options.waveSize;
    this.wave = { index: 0, cap, admitted: 0, startedAt: now, jobs: new Set() };
    this.options.logger?.info("provider recovered; releasing parked jobs in waves", { provider: this.name, reason: this.reason, first_wave: cap });
  }

  /** Starts the next wave when the current one has ended, or closes the circuit when there was no backlog. */
  advanceWave(): void {
    const wave = this.wave;
    if (this.state !== "recovering" || !wave) return;
    const now = this.options.now();
    if (now < this.waveEndsAt(wave)) return;
    if (wave.admitted < wave.cap) {
      this.state = "closed";
      this.since = now;
      this.wave = undefined;
      this.consecutiveOutages = 0;
      this.options.logger?.info("provider circuit closed", { provider: this.name });
      return;
    }
    const cap = wave.cap < this.options.waveSize ? this.options.waveSize : wave.cap * 2;
    this.wave = { index: wave.index + 1, cap, admitted: 0, startedAt: now, jobs: wave.jobs };
    this.options.logger?.info("provider recovery: next wave", { provider: this.name, wave: wave.index + 1, cap });
  }

  snapshot(): CircuitSnapshot {
    const wave = this.wave;
    return {
      state: this.state,
      ...(this.state !== "closed" && { reason: this.reason, message: this.message }),
      since: new Date(this.since).toISOString(),
      ...(this.state === "recovering" &&
        wave && {
          wave: {
            index: wave.index,
            cap: wave.cap,
            admitted: wave.admitted,
            endsAt: new Date(this.waveEndsAt(wave)).toISOString(),
          },
        }),
    };
  }

  private refusal(): RetryableError {
    return new RetryableError(
      this.reason,
      `${this.name} is unavailable (${this.reason}) since ${new Date(this.since).toISOString()}; this run waits for it to recover, without spending an attempt: ${this.message}`,
      { provider: this.name, parkOnly: true },
    );
  }
}
