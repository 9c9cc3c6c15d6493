import "server-only";
/**
 * The local fault switch (`LOCAL_PROVIDER_FAULTS`): makes the local providers fail or stall the way
 * real providers do, so retries, parking and the health gate can be exercised offline.
 *
 * Counters live in this process's memory: a restart re-arms every fault, and separate processes
 * (e.g. a web server and a worker) each count on their own.
 *
 * The `gate` fault holds calls until a file appears (`<gate folder>/<target>` for every call, or
 * `<gate folder>/<target>.<job id>` for one job's, the folder being `$DATA_DIR/gates`): the one signal that reaches a server from a test in another process without
 * a port or a protocol, and that a person can give with `touch`. Tests use it to keep a step in
 * progress for exactly as long as they need, however busy the machine (a fixed delay can run out
 * before the test looks).
 */
import { existsSync, mkdirSync, rmSync, watch, writeFileSync, type FSWatcher } from "node:fs";
import path from "node:path";
import { HardError, RetryableError } from "@/lib/workflows/errors";
import type { RetryReason } from "@/lib/workflows/errors";

export const FAULT_TARGETS = ["image_edit", "video", "text_to_image", "background_removal", "scene", "upscale", "storage", "*"] as const;
export type FaultTarget = (typeof FAULT_TARGETS)[number];
/** What a provider names when it asks the switch; "*" is only for rules. */
export type FaultCallTarget = Exclude<FaultTarget, "*">;

const FAILURE_KINDS = ["quota", "rate_limit", "outage", "auth", "timeout", "hard"] as const;
type FailureKind = (typeof FAILURE_KINDS)[number];

export type FaultRule =
  | { target: FaultTarget; kind: FailureKind; times: number }
  /** `times` undefined: every call is slowed. */
  | { target: FaultTarget; kind: "slow"; delayMs: number; times: number | undefined }
  /** `times` undefined: every call is held until its gate is open. */
  | { target: FaultTarget; kind: "gate"; times: number | undefined };

const RATE_LIMIT_RETRY_AFTER_SECONDS = 1;
const MAX_DELAY_MS = 10 * 60_000;
/** The fallback when the file watcher misses an event (some file systems never send one). */
const GATE_POLL_MS = 1_000;

const SYNTAX =
  "expected comma-separated <target>:<fault>[:<times>] with target one of image_edit, video, text_to_image, background_removal, scene, upscale, storage, * " +
  "and fault one of quota, rate_limit, outage, auth, timeout, hard, slow=<ms>, gate " +
  '(e.g. "image_edit:quota:2,video:slow=3000,storage:gate:1")';

const MESSAGES: Record<FailureKind, string> = {
  quota: "Quota exceeded: you have insufficient credit to run this model",
  rate_limit: `Request was throttled (429 Too Many Requests): retry after ${RATE_LIMIT_RETRY_AFTER_SECONDS}s`,
  outage: "Service unavailable (503): the model backend is temporarily down, please try again later",
  auth: "Unauthenticated (401): the API token is invalid or has been revoked",
  timeout: "Request timed out: the provider did not respond within 60s",
  hard: "The input or output was flagged as sensitive. Please try again with different inputs. (E005)",
};

function parseTimes(raw: string, entry: string): number {
  if (!/^[1-9]\d{0,5}$/.test(raw)) throw invalid(entry, `times "${raw}" must be a positive integer`);
  return Number(raw);
}

function invalid(entry: string, why: string): Error {
  return new Error(`Invalid LOCAL_PROVIDER_FAULTS entry "${entry}": ${why}; ${SYNTAX}`);
}

/** Parses a LOCAL_PROVIDER_FAULTS value; empty entries are ignored, anything malformed throws. */
export function parseFaultSpec(spec: string): FaultRule[] {
  const rules: FaultRule[] = [];
  for (const rawEntry of spec.split(",")) {
    const entry = rawEntry.trim();
    if (entry === "") continue;
    const parts = entry.split(":").map((part) => part.trim());
    if (parts.length < 2 || parts.length > 3) throw invalid(entry, "wrong number of \":\"-separated parts");
    const [target = "", fault = "", timesRaw] = parts;
    if (!(FAULT_TARGETS as readonly string[]).includes(target)) throw invalid(entry, `unknown target "${target}"`);
    const times = timesRaw === undefined ? undefined : parseTimes(timesRaw, entry);
    const slow = /^slow=(.*)$/.exec(fault);
    if (slow) {
      const ms = slow[1] ?? "";
      if (!/^\d{1,7}$/.test(ms) || Number(ms) > MAX_DELAY_MS) {
        throw invalid(entry, `slow delay "${ms}" must be whole milliseconds up to ${MAX_DELAY_MS}`);
      }
      rules.push({ target: target as FaultTarget, kind: "slow", delayMs: Number(ms), times });
    } else if (fault === "gate") {
      rules.push({ target: target as FaultTarget, kind: "gate", times });
    } else if ((FAILURE_KINDS as readonly string[]).includes(fault)) {
      rules.push({ target: target as FaultTarget, kind: fault as FailureKind, times: times ?? 1 });
    } else {
      throw invalid(entry, `unknown fault "${fault}"`);
    }
  }
  return rules;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * The file whose existence opens the gate of calls to `target` (for a "*" rule too: the call's own
 * target); with a job id, of that job's calls only, so tests sharing a server release their own.
 */
export function gateFile(gateDir: string, target: FaultCallTarget, jobId?: string): string {
  return path.join(gateDir, jobId === undefined ? target : `${target}.${jobId}`);
}

/** Opens the gate of `target` (of one job's calls, with `jobId`): held calls go on, later ones pass, until it is closed. */
export function openGate(gateDir: string, target: FaultCallTarget, jobId?: string): void {
  mkdirSync(gateDir, { recursive: true });
  writeFileSync(gateFile(gateDir, target, jobId), "");
}

export function closeGate(gateDir: string, target: FaultCallTarget, jobId?: string): void {
  rmSync(gateFile(gateDir, target, jobId), { force: true });
}

/** Resolves once one of `files` exists: watched, with a slow poll behind the watcher; rejects on abort. */
function waitForFile(files: string[], signal: AbortSignal | undefined): Promise<void> {
  const exists = () => files.some((file) => existsSync(file));
  if (exists()) return Promise.resolve();
  if (signal?.aborted) return Promise.reject(signal.reason as Error);
  const dir = path.dirname(files[0]!);
  mkdirSync(dir, { recursive: true });
  return new Promise((resolve, reject) => {
    let watcher: FSWatcher | undefined;
    const finish = (error?: unknown): void => {
      clearInterval(poll);
      watcher?.close();
      signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error as Error);
    };
    const check = (): void => {
      if (exists()) finish();
    };
    const onAbort = (): void => finish(signal?.reason ?? new Error("aborted"));
    const poll = setInterval(check, GATE_POLL_MS);
    try {
      watcher = watch(dir, check);
      // A watcher that fails later leaves the poll to do the work.
      watcher.on("error", () => watcher?.close());
    } catch {
      // No watcher on this file system: the poll alone.
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    // The file may have appeared between the first look and the watch.
    check();
  });
}

export interface FaultSwitchOptions {
  /** Where gate files live ($DATA_DIR/gates); needed only when a rule is a gate. */
  gateDir?: string | undefined;
}

/**
 * Applies parsed rules in order. Each rule counts its own remaining calls; on a call, every matching
 * gate rule holds it until the gate is open, every matching slow rule delays it, then the first
 * matching failure rule with calls left fires. So "video:rate_limit:2,video:quota" fails twice with
 * rate_limit, then once with quota, then succeeds. A "*" rule counts calls of all targets together.
 */
export class FaultSwitch {
  private readonly rules: FaultRule[];
  private readonly remaining: (number | undefined)[];
  private readonly gateDir: string | undefined;

  constructor(spec: string | FaultRule[] = "", options: FaultSwitchOptions = {}) {
    this.rules = typeof spec === "string" ? parseFaultSpec(spec) : [...spec];
    this.remaining = this.rules.map((rule) => rule.times);
    this.gateDir = options.gateDir;
    if (this.gateDir === undefined && this.rules.some((rule) => rule.kind === "gate")) {
      throw new Error("LOCAL_PROVIDER_FAULTS has a gate fault but no gate folder was given");
    }
  }

  get enabled(): boolean {
    return this.rules.length > 0;
  }

  async apply(target: FaultCallTarget, options: { provider: string; signal?: AbortSignal | undefined; jobId?: string | undefined }): Promise<void> {
    const { provider, signal, jobId } = options;
    if (signal?.aborted) throw signal.reason;
    let delayMs = 0;
    let gated = false;
    let failure: FailureKind | undefined;
    this.rules.forEach((rule, index) => {
      if (rule.target !== "*" && rule.target !== target) return;
      const left = this.remaining[index];
      if (left === 0) return;
      if (rule.kind === "slow") {
        delayMs += rule.delayMs;
      } else if (rule.kind === "gate") {
        gated = true;
      } else if (failure === undefined) {
        failure = rule.kind;
      } else {
        return;
      }
      if (left !== undefined) this.remaining[index] = left - 1;
    });
    if (gated && this.gateDir !== undefined) {
      const gates = [gateFile(this.gateDir, target), ...(jobId === undefined ? [] : [gateFile(this.gateDir, target, jobId)])];
      await waitForFile(gates, signal);
    }
    if (delayMs > 0) await sleep(delayMs, signal);
    if (failure === undefined) return;
    const message = `${MESSAGES[failure]} (local fault switch)`;
    if (failure === "hard") throw new HardError("content_rejected", message, { provider });
    const reason: RetryReason = failure;
    throw new RetryableError(reason, message, {
      provider,
      ...(reason === "rate_limit" && { retryAfterSeconds: RATE_LIMIT_RETRY_AFTER_SECONDS }),
    });
  }
}
