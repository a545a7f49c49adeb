// Shared benchmark harness: closed-loop request loops at a fixed concurrency, latency percentiles, ratios,
// progress with ETA, and the sections each bench script hands to the report (bench/report.ts).
import { readFileSync, writeFileSync } from 'node:fs';
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
  /** Median latency of each round, in round order (set by `compare`). */
  roundP50?: number[];
  /** Request payload size in bytes (set by `compare` from its options), for MB/s. */
  payloadBytes?: number;
}

let brokerName: string | undefined;

/**
 * Also measure the CPU time of this broker, found through the pid file `scripts/brokers.sh` writes:
 * on a small machine the broker shares the cores, and CPU per request says where the time goes.
 */
export function measureBrokerCpu(name: 'nats' | 'rabbitmq' | 'kafka'): void {
  brokerName = name;
  progress.broker = name;
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
  progress.measuring(name, concurrency);
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

/**
 * Runs `total` calls of `call` in `concurrency` loops (no latencies kept, so a long soak holds no
 * growing array); `onProgress` hears the count done every 10 000 calls. Resolves with the errors.
 */
export async function runRequests(
  concurrency: number,
  total: number,
  call: () => Promise<unknown>,
  onProgress?: (done: number) => void,
): Promise<number> {
  let started = 0;
  let done = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < total) {
        started++;
        try {
          await call();
        } catch {
          errors++;
        }
        if (++done % 10_000 === 0) onProgress?.(done);
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
        ...(r.payloadBytes === undefined ? {} : { 'MB/s': mbPerSecond(r).toFixed(1) }),
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

/** `--quick` on the command line (or BENCH_QUICK=1): short single rounds over fewer points, for a smoke run. */
export const QUICK = process.argv.includes('--quick') || process.env.BENCH_QUICK === '1';

/**
 * `--c1` on the command line (or BENCH_C1=1): concurrency 1 with the small payload only, in more
 * rounds (the Kafka bench also leaves out its large payloads and client instances): the latency
 * target alone, to iterate on it in a minute.
 */
export const C1 = process.argv.includes('--c1') || process.env.BENCH_C1 === '1';

/** Bench duration per measurement, from BENCH_MS (default 2 s, 0.3 s with `--quick`). */
export const BENCH_MS = Number(process.env.BENCH_MS ?? (QUICK ? 300 : 2_000));

/**
 * Warm-up of each contender before the first round of a process, from BENCH_WARMUP_MS (default 3 s,
 * 0.3 s with `--quick`): the first round of a run used to be the slowest of every contender (p50 at
 * c=1 several times the later rounds' on Kafka: JIT, fresh connections and topics), which made the
 * median round a coin toss between slow and warm rounds.
 */
export const BENCH_WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? (QUICK ? 300 : 3_000));

/** Rounds per contender, from BENCH_ROUNDS (default 3, 1 with `--quick`, 7 with `--c1`). */
export const BENCH_ROUNDS = Number(process.env.BENCH_ROUNDS ?? (QUICK ? 1 : C1 ? 7 : 3));

/** BENCH_ONLY: a regular expression; only contenders whose name matches run (e.g. to profile one). */
const ONLY = process.env.BENCH_ONLY ? new RegExp(process.env.BENCH_ONLY) : undefined;

/** Concurrencies of the small-payload curve. */
export const CONCURRENCIES = C1 ? [1] : QUICK ? [1, 64] : [1, 16, 64, 256];

/** Request payload sizes, in bytes: a small JSON object and two large ones. */
export const PAYLOAD_SIZES = [100, 16 * 1024, 256 * 1024] as const;

/** Concurrencies of the large-payload curves. */
export const LARGE_CONCURRENCIES = QUICK ? [16] : [1, 16];

/**
 * A JSON object whose serialisation is exactly `bytes` long (at least the small one's 46 bytes): the
 * small bench object, padded with a string field.
 */
export function payloadOf(bytes: number): { id: number; name: string; items: number[]; pad?: string } {
  const base = { id: 42, name: 'bench', items: [1, 2, 3] };
  const overhead = JSON.stringify({ ...base, pad: '' }).length;
  return bytes <= overhead ? base : { ...base, pad: 'x'.repeat(bytes - overhead) };
}

/** `100 B`, `16 KiB`, `256 KiB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** Request payload throughput, MB/s (10^6 bytes), of a result with a payload size; NaN without one. */
export function mbPerSecond(r: Result): number {
  return r.payloadBytes === undefined ? NaN : (r.rps * r.payloadBytes) / 1e6;
}

/** Options of one `compare` call: what the progress line and the report call it. */
export interface CompareOptions {
  /** Section title, e.g. `100 B` or `8 instances`. */
  section?: string;
  /** Request payload size, in bytes (adds MB/s to the report). */
  payloadBytes?: number;
}

/**
 * The progress line: which contender runs, at which concurrency and round, how many measurements are
 * done out of those planned (`planRuns`), and the ETA. On a TTY one line is rewritten; otherwise
 * (CI, a log file) each step is a plain line.
 */
class Progress {
  private planned = 0;
  private done = 0;
  private started = 0;
  private label = '';
  private readonly tty = process.stdout.isTTY === true;
  private open = false;
  broker = '';

  plan(measurements: number): void {
    this.planned += measurements;
    if (!this.started) this.started = performance.now();
  }

  step(label: string): void {
    this.label = label;
  }

  measuring(name: string, concurrency: number): void {
    if (!this.started) this.started = performance.now();
    const total = Math.max(this.planned, this.done + 1);
    const perRun = this.done > 0 ? (performance.now() - this.started) / this.done : undefined;
    const eta = perRun === undefined ? '' : `, ETA ${formatDuration(perRun * (total - this.done))}`;
    const line = `[${this.broker || 'bench'}] ${this.label}${this.label ? ' ' : ''}c=${concurrency} ${name} (${this.done + 1}/${total}${eta})`;
    this.done++;
    if (this.tty) {
      process.stdout.write(`\r\x1b[2K${line}`);
      this.open = true;
    } else console.log(line);
  }

  /** Time from process start to the first measurement, and since, in ms. */
  timing(): { setupMs: number; measuringMs: number } {
    const now = performance.now();
    return { setupMs: this.started || now, measuringMs: this.started ? now - this.started : 0 };
  }

  /** Ends a rewritten line before other output. */
  clear(): void {
    if (this.open) process.stdout.write('\r\x1b[2K');
    this.open = false;
  }
}

/** `1m05s`, `42s`. */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
}

const progress = new Progress();

/** Announces how many measurements (`plannedRuns` of each compare) the script will make, for the ETA. */
export function planRuns(measurements: number): void {
  progress.plan(measurements);
}

/** Measurements one `compare` call makes. */
export function plannedRuns(contenders: number, concurrencies: number[], rounds = BENCH_ROUNDS): number {
  return contenders * concurrencies.length * rounds;
}

let warmedUp = false;

/**
 * Measures every contender at each concurrency. Contenders take turns for `rounds` rounds and each
 * reports its median round, so a burst of other load on the machine (the broker shares its cores with
 * this process) skews one round, not one contender. The first call of a process first runs every
 * contender for `BENCH_WARMUP_MS` at its first concurrency, unmeasured.
 */
export async function compare(
  contenders: Array<[string, () => Promise<unknown>]>,
  concurrencies: number[] = [1, 64],
  rounds = BENCH_ROUNDS,
  durationMs = BENCH_MS,
  options: CompareOptions = {},
): Promise<Result[]> {
  const results: Result[] = [];
  const section = options.section ?? '';
  if (ONLY) contenders = contenders.filter(([name]) => ONLY!.test(name));
  if (!warmedUp && concurrencies.length > 0) {
    warmedUp = true;
    progress.plan(contenders.length);
    progress.step('warm-up');
    for (const [name, call] of contenders) {
      progress.measuring(name, concurrencies[0]!);
      await loop(concurrencies[0]!, BENCH_WARMUP_MS, call, []);
    }
  }
  for (const concurrency of concurrencies) {
    const runs = new Map<string, Result[]>(contenders.map(([name]) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      progress.step(`${section}${section ? ' ' : ''}round ${round + 1}/${rounds}`);
      // Each round starts with the next contender, so no one always runs first or last.
      for (let i = 0; i < contenders.length; i++) {
        const [name, call] = contenders[(round + i) % contenders.length]!;
        runs.get(name)!.push(await measure(name, concurrency, durationMs, call));
      }
    }
    progress.clear();
    for (const [name, measured] of runs) {
      const sorted = [...measured].sort((a, b) => a.rps - b.rps);
      results.push({
        ...sorted[Math.floor(sorted.length / 2)]!,
        roundRps: measured.map((r) => r.rps),
        roundP50: measured.map((r) => r.p50),
        ...(options.payloadBytes === undefined ? {} : { payloadBytes: options.payloadBytes }),
      });
      console.log(
        `${section}${section ? ' ' : ''}c=${concurrency} ${name}: ${measured.map((r) => Math.round(r.rps)).join(' / ')} req/s, p50 ${measured.map((r) => r.p50.toFixed(2)).join(' / ')} ms`,
      );
    }
  }
  return results;
}

/** The ratio of a contender to a baseline at one concurrency, with its per-round spread and the CPU behind it. */
export interface PairRatio {
  name: string;
  base: string;
  label: string;
  concurrency: number;
  /** Ratio of the reported (median-round) throughputs. */
  ratio: number;
  /** Sorted per-round throughput ratios (the two sides run seconds apart within a round). */
  rounds: number[];
  /** Node and broker CPU time per request, in µs, of contender and baseline. */
  nodeUs: number;
  brokerUs: number;
  baseNodeUs: number;
  baseBrokerUs: number;
}

/** The `[contender, baseline, label]` ratios at every concurrency both were measured at. */
export function pairRatios(results: Result[], pairs: Array<[string, string, string]>): PairRatio[] {
  const out: PairRatio[] = [];
  for (const concurrency of [...new Set(results.map((r) => r.concurrency))]) {
    const find = (name: string) => results.find((r) => r.name === name && r.concurrency === concurrency);
    for (const [name, base, label] of pairs) {
      const a = find(name);
      const b = find(base);
      if (!a || !b) continue;
      out.push({
        name,
        base,
        label,
        concurrency,
        ratio: a.rps / b.rps,
        rounds: (a.roundRps ?? []).map((rps, i) => rps / (b.roundRps?.[i] ?? NaN)).sort((x, y) => x - y),
        nodeUs: a.nodeUs,
        brokerUs: a.brokerUs,
        baseNodeUs: b.nodeUs,
        baseBrokerUs: b.brokerUs,
      });
    }
  }
  return out;
}

/** `1.12× (rounds 1.05–1.20×)`; the range only with several rounds. */
export function formatRatio(p: Pick<PairRatio, 'ratio' | 'rounds'>): string {
  const valid = p.rounds.length > 1 && !p.rounds.some(Number.isNaN);
  const range = valid ? ` (rounds ${p.rounds[0]!.toFixed(2)}–${p.rounds.at(-1)!.toFixed(2)}×)` : '';
  return `${p.ratio.toFixed(2)}×${range}`;
}

/** One table of a bench script's report: results of one `compare`, and the ratios to show with it. */
export interface Section {
  title: string;
  /** What the section varies, for the chart's grouping: concurrency curves or instance counts. */
  kind?: 'concurrency' | 'payload' | 'instances';
  payloadBytes?: number;
  results: Result[];
  pairs?: Array<[string, string, string]>;
  /** Baselines whose `× name` columns the table shows. */
  ratiosAgainst?: string[];
  /** A sentence under the table. */
  note?: string;
  /**
   * For the chart, contenders laid out as a grid rather than by concurrency: `cells[i]` of a series
   * names the contender of each group (e.g. a series per reply-topic layout, a group per instance count).
   */
  grid?: { groups: string[]; series: Array<{ name: string; cells: string[] }> };
}

/** A target of the project, evaluated as a ratio measured in this run. */
export interface Target {
  label: string;
  /** The measured ratio (higher is better unless `atMost`). */
  value: number;
  threshold: number;
  /** The target is a ceiling (e.g. CPU per request), not a floor. */
  atMost?: boolean;
  held: boolean;
  /** A ratio shown for information, with no target to hold. */
  info?: boolean;
  /** Per-round spread, where the CPU goes, in a few words. */
  detail: string;
}

/** What one bench script hands to the report: its broker, sections and targets. */
export interface BrokerReport {
  broker: 'nats' | 'rabbitmq' | 'kafka';
  title: string;
  sections: Section[];
  targets: Target[];
  notes: string[];
  /** The Node.js version the bench ran on (set by `finish`). */
  node?: string;
}

/**
 * Evaluates a throughput target on the pair's ratio at one concurrency: held when the median-round
 * ratio reaches `threshold`.
 */
export function throughputTarget(label: string, p: PairRatio | undefined, threshold: number): Target {
  if (!p) return { label, value: NaN, threshold, held: false, detail: 'not measured' };
  return {
    label,
    value: p.ratio,
    threshold,
    held: p.ratio >= threshold,
    detail: `${formatRatio(p)}; CPU µs/req Node ${p.nodeUs.toFixed(1)} vs ${p.baseNodeUs.toFixed(1)}, broker ${fmtUs(p.brokerUs)} vs ${fmtUs(p.baseBrokerUs)}`,
  };
}

/**
 * Evaluates a ceiling on the median latency, contender over baseline at one concurrency: held when the
 * contender's p50 is at most `threshold` times the baseline's. With several rounds the value is the
 * median of the per-round ratios of the two p50s (the two run seconds apart within a round, so a
 * drift in the machine's speed moves both), and the detail gives their range and each side's
 * per-round p50s; with one round, the ratio of the two p50s.
 */
export function latencyTarget(
  label: string,
  results: Result[],
  concurrency: number,
  name: string,
  base: string,
  threshold: number,
): Target {
  const a = results.find((r) => r.name === name && r.concurrency === concurrency);
  const b = results.find((r) => r.name === base && r.concurrency === concurrency);
  if (!a || !b) return ceilingTarget(label, NaN, threshold, 'not measured');
  const rounds = (a.roundP50 ?? []).map((p50, i) => p50 / (b.roundP50?.[i] ?? NaN)).sort((x, y) => x - y);
  const paired = rounds.length > 1 && !rounds.some(Number.isNaN);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!;
  const cpu = `CPU µs/req Node ${a.nodeUs.toFixed(1)} vs ${b.nodeUs.toFixed(1)}`;
  if (!paired)
    return ceilingTarget(
      label,
      a.p50 / b.p50,
      threshold,
      `p50 ${a.p50.toFixed(2)} vs ${b.p50.toFixed(2)} ms; ${cpu}`,
    );
  const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join('/');
  return ceilingTarget(
    label,
    median(rounds),
    threshold,
    `median of ${rounds.length} rounds' p50 ratios (rounds ${rounds[0]!.toFixed(2)}–${rounds.at(-1)!.toFixed(2)}×); ` +
      `p50 median ${median(a.roundP50!).toFixed(2)} vs ${median(b.roundP50!).toFixed(2)} ms ` +
      `(rounds ${list(a.roundP50!)} vs ${list(b.roundP50!)}); ${cpu}`,
  );
}

/** A target that holds at or under its threshold; NaN (not measured) never holds. */
function ceilingTarget(label: string, value: number, threshold: number, detail: string): Target {
  return { label, value, threshold, atMost: true, held: value <= threshold, detail };
}

/**
 * Evaluates a ceiling on the broker's CPU time per request, contender over baseline: held when at or
 * under `threshold`.
 */
export function cpuTarget(label: string, p: PairRatio | undefined, threshold: number): Target {
  if (!p) return ceilingTarget(label, NaN, threshold, 'not measured');
  return ceilingTarget(
    label,
    p.brokerUs / p.baseBrokerUs,
    threshold,
    `broker µs/req ${fmtUs(p.brokerUs)} vs ${fmtUs(p.baseBrokerUs)}; Node ${p.nodeUs.toFixed(1)} vs ${p.baseNodeUs.toFixed(1)}; throughput ${formatRatio(p)}`,
  );
}

function fmtUs(us: number): string {
  return Number.isNaN(us) ? '-' : us.toFixed(1);
}

/**
 * Ends a bench script: prints its sections' tables and ratios, then hands the report to the runner
 * (`bench/run.ts` sets BENCH_OUT to a JSON file) or, run on its own, writes the report itself.
 */
export async function finish(report: BrokerReport): Promise<void> {
  progress.clear();
  const { setupMs, measuringMs } = progress.timing();
  console.log(
    `[${report.broker}] start-up and connections ${formatDuration(setupMs)}, measurements ${formatDuration(measuringMs)}`,
  );
  for (const s of report.sections) {
    console.log(`\n== ${report.title}: ${s.title}`);
    printTable(s.results, s.ratiosAgainst ?? []);
    if (s.pairs) printPairs(s.results, s.pairs);
  }
  console.log('');
  for (const t of report.targets)
    console.log(
      `${t.info ? 'info  ' : t.held ? 'held  ' : 'MISSED'} ${t.label}: ${t.atMost ? `${t.value.toFixed(2)}×; ` : ''}${t.detail}`,
    );
  report.node = process.version;
  const out = process.env.BENCH_OUT;
  if (out) writeFileSync(out, JSON.stringify(report));
  else {
    const { writeReports } = await import('./report.js');
    const files = await writeReports([report], { quick: QUICK, c1: C1, elapsedMs: performance.now() });
    console.log(`\nwrote ${files.join(', ')}`);
  }
}

/** Sets the broker named on progress lines (also done by `measureBrokerCpu`). */
export function progressBroker(name: string): void {
  progress.broker = name;
}
