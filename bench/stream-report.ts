/**
 * Section 3's rows: for each database, level and server, the medians of its rounds
 * (BENCH_STREAM_ROUNDS), and Montage ÷ bare as the median of each round's own ratio (the two were
 * measured back to back in that round). Latency counts from each event's commit (bench/stream.ts),
 * so the database's commit delay is not in it; but a writer that committed under 90% of its planned
 * events gave the servers less to do, so such a measurement is marked and a ratio built on one is
 * not judged. Deliveries still missing after the drain are reported, and fail the 10,000 target.
 */
import type { Provider } from "../tests/helpers/db";
import { ms, type Row } from "./lib/report";
import { sizes } from "./lib/sizes";
import type { FanoutResult, MachineLoad } from "./stream";

const DATABASE_NAMES: Record<Provider, string> = { sqlite: "SQLite", postgresql: "PostgreSQL" };

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};

interface Combined {
  rounds: FanoutResult[];
  p50: number;
  p99: number;
  rssKb: number;
  cpuMicros: number;
}

function combine(rounds: FanoutResult[]): Combined | undefined {
  if (rounds.length === 0) return undefined;
  return {
    rounds,
    p50: median(rounds.map((f) => f.latency.p50)),
    p99: median(rounds.map((f) => f.latency.p99)),
    // Round 1's: later rounds start from the memory the earlier ones left (RSS rarely shrinks), so
    // their "after minus before" ranged from 1 to 122 KB on one server.
    rssKb: (rounds.find((f) => f.round === 1) ?? rounds[0]!).rssPerConnectionKb,
    cpuMicros: Math.round(median(rounds.map((f) => f.cpuMicrosPerEvent))),
  };
}

const fellBehind = (f: FanoutResult) => f.written < 0.9 * f.planned;
const behind = (c: Combined) => c.rounds.filter(fellBehind).length;

export function streamRows(rows: Row[], load: MachineLoad, fanout: FanoutResult[], bareTailMs: number): void {
  const section = `3 Stream fan-out (${load})`;
  for (const provider of sizes.streamDatabases) {
    const on = DATABASE_NAMES[provider];
    for (const count of sizes.subscribers) {
      const of = (server: FanoutResult["server"]) => combine(fanout.filter((f) => f.database === provider && f.server === server && f.subscribers === count));
      const montage = of("montage");
      const bare = of("bare");
      for (const [server, c] of [["montage", montage], ["bare", bare]] as const) {
        if (!c) continue;
        const first = c.rounds[0]!;
        const n = c.rounds.length;
        const connected = Math.min(...c.rounds.map((f) => f.connected));
        const dropped = c.rounds.reduce((sum, f) => sum + f.dropped, 0);
        const errors = c.rounds.reduce((sum, f) => sum + f.errors, 0);
        const missing = c.rounds.reduce((sum, f) => sum + f.missing, 0);
        const label = server === "montage" ? "Montage" : provider === "sqlite" ? `bare node:http, ${bareTailMs} ms tail` : "bare node:http, LISTEN";
        const writer = `; events written of planned ${c.rounds.map((f) => `${f.written}/${f.planned}`).join(", ")}, commit delay p99 ${c.rounds.map((f) => ms(f.writerLagP99)).join(", ")}${behind(c) > 0 ? `: the writer fell behind in ${behind(c)} of ${n}` : ""}`;
        const row: Row = {
          section,
          metric: `${label} on ${on}, ${count} subscribers on ${first.jobs} jobs, an event per job every ${first.eventIntervalMs} ms (${n > 1 ? `median of ${n} rounds, RSS of round 1; ` : ""}at least ${connected} connected over ${first.clients} client processes, ${errors} errors, ${dropped} dropped, ${missing} deliveries missing; load average ${c.rounds.map((f) => f.loadAverage[0]).join(", ")}${writer}): commit-to-client p50 / p99; RSS per connection; server CPU per delivered event`,
          value: `${ms(c.p50)} / ${ms(c.p99)}; ${c.rssKb} KB; ${c.cpuMicros} µs`,
        };
        if (server === "montage" && count === 1000 && load === "quiet") Object.assign(row, { target: "p99 ≤ 100 ms", met: c.p99 <= 100 });
        if (server === "montage" && count >= 10_000) Object.assign(row, { target: "all connected, none dropped or missing, p99 ≤ 250 ms", met: connected === count && dropped === 0 && missing === 0 && c.p99 <= 250 });
        rows.push(row);
      }
      if (montage && bare) {
        // Each round's own ratio (measured back to back), then their median.
        const pairs = montage.rounds.map((m) => [m, bare.rounds.find((b) => b.round === m.round)] as const).filter((pair): pair is readonly [FanoutResult, FanoutResult] => pair[1] !== undefined);
        const ratio = median(pairs.map(([m, b]) => m.latency.p99 / Math.max(0.001, b.latency.p99)));
        const invalid = pairs.some(([m, b]) => fellBehind(m) || fellBehind(b));
        rows.push({
          section,
          metric: `Montage ÷ bare on ${on}, ${count} subscribers, p99${pairs.length > 1 ? `, median of the rounds' ratios (${pairs.map(([m, b]) => (m.latency.p99 / Math.max(0.001, b.latency.p99)).toFixed(2)).join(", ")})` : ""} (p50: ${(montage.p50 / Math.max(0.001, bare.p50)).toFixed(2)}×)${invalid ? "; not valid: the writer fell behind (fewer events than planned)" : ""}`,
          value: `${ratio.toFixed(2)}×`,
          ...(count === 1000 && !invalid && { target: "≤ 2×", met: ratio <= 2 }),
        });
        const memory = montage.rssKb / Math.max(1, bare.rssKb);
        rows.push({
          section,
          metric: `Montage ÷ bare on ${on}, ${count} subscribers: RSS per connection; CPU per delivered event (medians)`,
          value: `${memory.toFixed(2)}×; ${(montage.cpuMicros / Math.max(1, bare.cpuMicros)).toFixed(2)}×`,
          ...(count >= 10_000 && { target: "RSS ≤ 4×", met: memory <= 4 }),
        });
      }
    }
  }
}
