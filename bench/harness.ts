// Shared benchmark harness: closed-loop request loops at a fixed concurrency, latency percentiles, ratios.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { brokerEnv } from '../scripts/broker-env.mjs';

/** The set of brokers the benchmarks run against (standard ports unless BROKERS_PORT_BASE is set). */
export const BROKERS = brokerEnv();

export interface Result {
  name: string;
  concurrency: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** CPU time per request of this process (client and server sides), in µs. */
  nodeUs: number;
  /** CPU time per request of the broker process, in µs (NaN when its pid is unknown). */
  brokerUs: number;
  /** Throughput of each round, in round order (set by `compare`). */
  roundRps?: number[];
}

let brokerName: string | undefined;

/**
 * Also measure the CPU time of this broker, found through the pid file `scripts/brokers.sh` writes:
 * on a small machine the broker shares the cores, and CPU per request says where the time goes.
 */
export function measureBrokerCpu(name: 'nats' | 'rabbitmq' | 'kafka'): void {
  brokerName = name;
}

function brokerPid(): number | undefined {
  const name = brokerName;
  if (!name) return undefined;
  try {
    const pid = Number(readFileSync(`${BROKERS.BROKERS_STATE_DIR}/${name}/${name}.pid`, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process, in µs (Linux /proc; NaN elsewhere). */
function processCpuUs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / 100; // clock ticks at USER_HZ = 100
  } catch {
    return NaN;
  }
}

/** Runs `call` in `concurrency` loops for `durationMs` after a short warm-up; latencies in ms. */
export async function measure(
  name: string,
  concurrency: number,
  durationMs: number,
  call: () => Promise<unknown>,
  warmupMs = Math.min(1_000, durationMs / 3),
): Promise<Result> {
  await loop(concurrency, warmupMs, call, []);
  const latencies: number[] = [];
  const pid = brokerPid();
  const broker0 = processCpuUs(pid);
  const node0 = process.cpuUsage();
  const started = performance.now();
  const errors = await loop(concurrency, durationMs, call, latencies);
  const elapsed = performance.now() - started;
  const node = process.cpuUsage(node0);
  const broker = processCpuUs(pid) - broker0;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) =>
    latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? NaN;
  return {
    name,
    concurrency,
    requests: latencies.length,
    rps: (latencies.length / elapsed) * 1_000,
    p50: pct(50),
    p99: pct(99),
    errors,
    nodeUs: (node.user + node.system) / latencies.length,
    brokerUs: broker / latencies.length,
  };
}

async function loop(concurrency: number, durationMs: number, call: () => Promise<unknown>, out: number[]) {
  const deadline = performance.now() + durationMs;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          await call();
          out.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  return errors;
}

/** Prints one table per concurrency, with each row's throughput relative to the named rows. */
export function printTable(results: Result[], ratiosAgainst: string[] = []): void {
  for (const concurrency of [...new Set(results.map((r) => r.concurrency))]) {
    const rows = results.filter((r) => r.concurrency === concurrency);
    console.log(`\nconcurrency ${concurrency}`);
    console.table(
      rows.map((r) => ({
        transport: r.name,
        'req/s': Math.round(r.rps),
        'p50 ms': r.p50.toFixed(2),
        'p99 ms': r.p99.toFixed(2),
        'node µs/req': r.nodeUs.toFixed(1),
        'broker µs/req': Number.isNaN(r.brokerUs) ? '-' : r.brokerUs.toFixed(1),
        errors: r.errors,
        ...Object.fromEntries(
          ratiosAgainst.map((base) => {
            const b = rows.find((x) => x.name === base);
            return [`× ${base}`, b ? (r.rps / b.rps).toFixed(2) : '-'];
          }),
        ),
      })),
    );
  }
}

/**
 * Prints, per concurrency, the throughput ratio of each [contender, baseline, label] pair, and the ratio
 * of their CPU time per request (Node + broker). When the broker shares the machine's cores, the
 * throughput ratio tends towards the CPU ratio as the cores fill up: it is the ratio's ceiling there.
 * With several rounds it also prints the median and range of the per-round ratios: the two sides of a
 * pair run seconds apart within a round, so these follow drifts in the machine's speed less than medians do.
 */
export function printPairs(results: Result[], pairs: Array<[string, string, string]>): void {
  for (const concurrency of [...new Set(results.map((r) => r.concurrency))]) {
    const find = (name: string) => results.find((r) => r.name === name && r.concurrency === concurrency);
    for (const [name, base, label] of pairs) {
      const a = find(name);
      const b = find(base);
      if (!a || !b) continue;
      const cpu = (b.nodeUs + b.brokerUs) / (a.nodeUs + a.brokerUs);
      const cpuText = Number.isNaN(cpu) ? '' : `, CPU per request ${base} / ${name}: ${cpu.toFixed(2)}×`;
      const rounds = (a.roundRps ?? []).map((rps, i) => rps / (b.roundRps?.[i] ?? NaN)).sort((x, y) => x - y);
      const roundText =
        rounds.length > 1 && !rounds.some(Number.isNaN)
          ? ` (per round: median ${rounds[Math.floor(rounds.length / 2)]!.toFixed(2)}×, ${rounds[0]!.toFixed(2)}–${rounds.at(-1)!.toFixed(2)}×)`
          : '';
      console.log(
        `c=${concurrency} ${name} / ${base} (${label}): ${(a.rps / b.rps).toFixed(2)}×${roundText}${cpuText}`,
      );
    }
  }
}

/** Bench duration per measurement, from BENCH_MS (default 5 s). */
export const BENCH_MS = Number(process.env.BENCH_MS ?? 5_000);

/** Rounds per contender, from BENCH_ROUNDS (default 3). */
export const BENCH_ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Measures every contender at each concurrency. Contenders take turns for `rounds` rounds and each
 * reports its median round, so a burst of other load on the machine (the broker shares its cores with
 * this process) skews one round, not one contender.
 */
export async function compare(
  contenders: Array<[string, () => Promise<unknown>]>,
  concurrencies: number[] = [1, 64],
  rounds = BENCH_ROUNDS,
  durationMs = BENCH_MS,
): Promise<Result[]> {
  const results: Result[] = [];
  for (const concurrency of concurrencies) {
    const runs = new Map<string, Result[]>(contenders.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      // Each round starts with the next contender, so no one always runs first or last.
      for (let i = 0; i < contenders.length; i++) {
        const [name, call] = contenders[(round + i) % contenders.length]!;
        runs.get(name)!.push(await measure(name, concurrency, durationMs, call));
      }
    }
    for (const [name, measured] of runs) {
      const sorted = [...measured].sort((a, b) => a.rps - b.rps);
      results.push({ ...sorted[Math.floor(sorted.length / 2)]!, roundRps: measured.map((r) => r.rps) });
      console.log(`c=${concurrency} ${name}: ${measured.map((r) => Math.round(r.rps)).join(' / ')} req/s`);
    }
  }
  return results;
}
