/**
 * Benchmark sizes, read once from the environment. BENCH_QUICK=1 shrinks everything to a smoke run
 * of about a minute; each size can also be set on its own (BENCH_THROUGHPUT_RUNS=500 ...).
 */
const quick = process.env.BENCH_QUICK === "1";

function size(name: string, full: number, smoke: number): number {
  const raw = process.env[name];
  if (raw !== undefined && raw !== "") {
    const value = Number(raw);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
    return value;
  }
  return quick ? smoke : full;
}

function list(name: string, full: number[], smoke: number[]): number[] {
  const raw = process.env[name];
  if (raw) return raw.split(",").map((part) => Number(part.trim()));
  return quick ? smoke : full;
}

export const sizes = {
  quick,
  /** Runs of each workflow length (10, 100 and 1,000 steps), one at a time. */
  stepRuns10: size("BENCH_STEP_RUNS_10", 60, 10),
  stepRuns100: size("BENCH_STEP_RUNS_100", 12, 2),
  stepRuns1000: size("BENCH_STEP_RUNS_1000", 3, 1),
  /** Single-insert commits for the raw commit-rate baselines. */
  commits: size("BENCH_COMMITS", 2000, 300),
  throughputRuns: size("BENCH_THROUGHPUT_RUNS", 2000, 200),
  concurrencies: list("BENCH_CONCURRENCY", [8, 32, 64], [8, 32]),
  /** SSE subscriber counts. Above 1,000 they spread over more jobs and users (bench/stream.ts). */
  subscribers: list("BENCH_SUBSCRIBERS", [100, 1000, 10_000], [100]),
  /** Databases of the stream section (the embedded default and production). */
  streamDatabases: (process.env.BENCH_STREAM_DATABASES ?? "sqlite,postgresql").split(",").map((s) => s.trim()) as ("sqlite" | "postgresql")[],
  /** Rounds of each stream level (Montage, then the bare server, back to back): medians and the median ratio are reported. */
  streamRounds: size("BENCH_STREAM_ROUNDS", 3, 1),
  /**
   * Rounds of the levels above 1,000 subscribers, at most BENCH_STREAM_ROUNDS. A 10,000 level now
   * takes about 35 s per server (it took about 4 minutes before the subscribers moved to client
   * processes of their own and the token lookup to the store), so it gets its median too.
   */
  streamRoundsLarge: size("BENCH_STREAM_ROUNDS_LARGE", 3, 1),
  /** Subscribers per client process of the stream section (one event loop each; 10,000 subscribers are 4 processes). */
  streamClientSubscribers: Math.max(1, size("BENCH_STREAM_CLIENT_SUBSCRIBERS", 2500, 2500)),
  /** Seconds each autocannon scenario runs. */
  apiSeconds: size("BENCH_API_SECONDS", 10, 3),
  /** Rounds of (floor, execution read), alternated on one server: medians and the median ratio are reported. */
  apiRounds: size("BENCH_API_ROUNDS", 3, 1),
  /** Jobs submitted one at a time to time POST /workflows/execute's answer → the first step's start. */
  firstStepSamples: size("BENCH_FIRST_STEP_SAMPLES", 40, 8),
  /**
   * The machine's state for the stream and API sections: quiet (as it is), busy (a fixed
   * background CPU load the bench starts, bench/lib/busy.ts), or both, one after the other.
   */
  loads: (process.env.BENCH_LOAD ?? "quiet").split(",").flatMap((s) => (s.trim() === "both" ? ["quiet", "busy"] : [s.trim()])) as ("quiet" | "busy")[],
  /** The share of each period a busy worker spins (one worker per core). */
  busyDuty: size("BENCH_BUSY_DUTY", 0.5, 0.5),
  /** The bench's servers listen on this base + 11, 12, 21 and 31 (two benches on one machine need two bases). */
  portBase: size("BENCH_PORT_BASE", 3400, 3400),
  sections: (process.env.BENCH_SECTIONS ?? "steps,throughput,stream,api,recovery").split(",").map((s) => s.trim()),
};
