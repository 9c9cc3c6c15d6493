import "server-only";
import { randomBytes, timingSafeEqual } from "node:crypto";
import os from "node:os";
import { Worker } from "node:worker_threads";
import { ApiError } from "@/lib/api/errors";
import { PASSWORD_WORKER_SOURCE, type WorkerReply, type WorkerTask, type WorkerTaskInput } from "@/lib/auth/password-worker";

/**
 * Password hashing off the event loop. Sign-up and sign-in cost about 0.2 s of CPU each (by
 * design); on the event loop (bcryptjs did it there) every other request waited behind them:
 * 40 parallel sign-ups made the rest of the API 4–11× slower. Here a small pool of worker threads
 * does the hashing, at a lower scheduling priority than the event loop where the OS allows it, and
 * the event loop only waits for the answer.
 *
 * The pool is bounded both ways: at most `threads` hashes run at once (by default one fewer than
 * the cores, so one core is always left to the event loop), and at most `maxQueued` wait; past
 * that a hash is refused at once with 503 `server_busy` and Retry-After, so a flood from many
 * addresses (each within its own rate limit, lib/auth/throttle.ts) is answered, not queued
 * for minutes.
 *
 * New hashes are scrypt (node:crypto, memory-hard: 32 MiB each), stored as
 * `$scrypt$ln=15,r=8,p=3$<salt>$<key>` (base64, no padding): OWASP's equivalent of N=2^17, r=8,
 * p=1 with a quarter of the memory. Hashes made before (bcrypt, `$2a$`/`$2b$`) still verify, in
 * the pool too, and `verify` says when a hash should be replaced (legacy, or older parameters):
 * lib/auth/passwords.ts rehashes on the next successful sign-in.
 */
export const SCRYPT_PARAMS = { ln: 15, r: 8, p: 3, keyBytes: 32, saltBytes: 16 } as const;

export interface PasswordHasherOptions {
  /** Worker threads at most (started on first use). */
  threads?: number;
  /** Hashes allowed to wait for a thread; one more is refused with 503. */
  maxQueued?: number;
  /** Where bcryptjs is resolved from for legacy hashes (the app's folder; node_modules below it). */
  root?: string;
  /** Scrypt parameters for new hashes (tests use cheaper ones). */
  params?: ScryptParams;
}

export interface ScryptParams {
  ln: number;
  r: number;
  p: number;
  keyBytes: number;
  saltBytes: number;
}

export interface Verification {
  ok: boolean;
  /** The stored hash is a legacy bcrypt hash or uses other parameters than new hashes: replace it after a successful check. */
  rehash: boolean;
}

interface Pending {
  task: WorkerTask;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

interface Slot {
  worker: Worker;
  busy: Pending | undefined;
}

const RETRY_AFTER_SECONDS = 5;

export function defaultHashThreads(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

export class PasswordHasher {
  readonly threads: number;
  readonly maxQueued: number;
  private readonly root: string;
  private readonly params: ScryptParams;
  private readonly slots: Slot[] = [];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Compared against for unknown emails, so a miss costs a whole verification, like a wrong password. */
  private readonly equaliser: string;

  constructor(options: PasswordHasherOptions = {}) {
    this.threads = Math.max(1, options.threads || defaultHashThreads());
    this.maxQueued = Math.max(0, options.maxQueued ?? this.threads * 16);
    this.root = options.root ?? process.cwd();
    this.params = options.params ?? SCRYPT_PARAMS;
    this.equaliser = formatScrypt(this.params, randomBytes(this.params.saltBytes), randomBytes(this.params.keyBytes));
  }

  /** Hashes running and waiting: what the next request would queue behind. */
  get load(): { running: number; queued: number } {
    return { running: this.slots.filter((slot) => slot.busy).length, queued: this.queue.length };
  }

  /** Throws 503 `server_busy` when a hash asked for now would be refused: checked before work that leads to one. */
  requireCapacity(): void {
    if (this.closed) throw busy();
    if (this.slots.some((slot) => !slot.busy) || this.slots.length < this.threads) return;
    if (this.queue.length >= this.maxQueued) throw busy();
  }

  async hash(password: string): Promise<string> {
    const salt = randomBytes(this.params.saltBytes);
    const key = (await this.submit({ op: "scrypt", password, salt: salt.toString("base64"), params: this.params })) as string;
    return formatScrypt(this.params, salt, Buffer.from(key, "base64"));
  }

  /** Checks `password` against a stored hash (scrypt or legacy bcrypt); an unreadable hash never matches. */
  async verify(password: string, stored: string): Promise<Verification> {
    if (/^\$2[aby]\$\d\d\$/.test(stored)) {
      const ok = (await this.submit({ op: "bcrypt", password, hash: stored, root: this.root })) as boolean;
      return { ok, rehash: ok };
    }
    const parsed = parseScrypt(stored);
    if (!parsed) return { ok: false, rehash: false };
    const key = Buffer.from((await this.submit({ op: "scrypt", password, salt: parsed.salt.toString("base64"), params: parsed.params })) as string, "base64");
    const ok = key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
    const current = this.params;
    const rehash = ok && (parsed.params.ln !== current.ln || parsed.params.r !== current.r || parsed.params.p !== current.p || parsed.key.length !== current.keyBytes);
    return { ok, rehash };
  }

  /** What a sign-in for an unknown email verifies against: the same cost as a real check, never a match. */
  verifyNothing(password: string): Promise<Verification> {
    return this.verify(password, this.equaliser);
  }

  /** Ends the threads; hashes still waiting are refused. */
  async close(): Promise<void> {
    this.closed = true;
    for (const pending of this.queue.splice(0)) pending.reject(busy());
    await Promise.all(this.slots.splice(0).map((slot) => slot.worker.terminate()));
  }

  private submit(task: WorkerTaskInput): Promise<unknown> {
    if (this.closed) return Promise.reject(busy());
    return new Promise((resolve, reject) => {
      const pending: Pending = { task: { ...task, id: this.nextId++ } as WorkerTask, resolve, reject };
      const slot = this.slots.find((candidate) => !candidate.busy) ?? (this.slots.length < this.threads ? this.spawn() : undefined);
      if (slot) return this.start(slot, pending);
      if (this.queue.length >= this.maxQueued) return reject(busy());
      this.queue.push(pending);
    });
  }

  private spawn(): Slot {
    const worker = new Worker(PASSWORD_WORKER_SOURCE, { eval: true, name: "montage-password-hasher" });
    // Idle threads never keep the process alive (a busy one does, until its answer arrives).
    worker.unref();
    const slot: Slot = { worker, busy: undefined };
    worker.on("message", (reply: WorkerReply) => {
      const pending = slot.busy;
      slot.busy = undefined;
      if (pending && pending.task.id === reply.id) {
        if ("error" in reply) pending.reject(new Error(`password hashing failed: ${reply.error}`));
        else pending.resolve(reply.result);
      }
      this.next(slot);
    });
    // A thread that dies (out of memory, a bug) fails its hash only; the next hash starts a new one.
    const lost = (error: unknown) => {
      const index = this.slots.indexOf(slot);
      if (index === -1) return;
      this.slots.splice(index, 1);
      slot.busy?.reject(error instanceof Error ? error : new Error(`password hashing thread exited (${String(error)})`));
      slot.busy = undefined;
      const waiting = this.queue.shift();
      if (waiting && !this.closed) this.start(this.spawn(), waiting);
    };
    worker.on("error", lost);
    worker.on("exit", (code) => lost(code));
    this.slots.push(slot);
    return slot;
  }

  private start(slot: Slot, pending: Pending): void {
    slot.busy = pending;
    slot.worker.ref();
    slot.worker.postMessage(pending.task);
  }

  private next(slot: Slot): void {
    const waiting = this.queue.shift();
    if (waiting) this.start(slot, waiting);
    else slot.worker.unref();
  }
}

function busy(): ApiError {
  return new ApiError("server_busy", `Too many sign-ins and sign-ups are being checked right now. Retry in ${RETRY_AFTER_SECONDS} s.`, { "Retry-After": String(RETRY_AFTER_SECONDS) });
}

const b64 = (bytes: Buffer) => bytes.toString("base64").replace(/=+$/, "");

export function formatScrypt(params: ScryptParams, salt: Buffer, key: Buffer): string {
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** The parts of a `$scrypt$` hash, or undefined for anything else (or parameters out of the sane range). */
export function parseScrypt(stored: string): { params: ScryptParams; salt: Buffer; key: Buffer } | undefined {
  const match = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(stored);
  if (!match) return undefined;
  const [ln, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
  // Bounds so a corrupt row cannot make a check take minutes or gigabytes.
  if (ln < 1 || ln > 20 || r < 1 || r > 32 || p < 1 || p > 16) return undefined;
  const salt = Buffer.from(match[4]!, "base64");
  const key = Buffer.from(match[5]!, "base64");
  if (key.length < 32 || key.length > 64 || salt.length < 16) return undefined;
  return { params: { ln, r, p, keyBytes: key.length, saltBytes: salt.length }, salt, key };
}
