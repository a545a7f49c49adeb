// The bench entry: runs the broker benches (each in a process of its own, so CPU per request counts one
// broker's clients only), then writes bench/results/<date>.md and a chart per broker.
// The Kafka bench runs on Node 24 (scripts/node24.sh installs it into .brokers/node24), so that both Kafka
// drivers run in one process; BENCH_KAFKA_NODE=current keeps it on this Node (kafkajs driver only).
// Run: npm run bench [-- nats|rabbitmq|kafka ...] [-- --quick] [-- --cpu-prof]
//      npm run bench -- kafka --c1   (Kafka's c=1 latency target alone, in 7 rounds: see C1 in bench/harness.ts)
//      npm run bench -- --render bench/results/<date>.json   (the report and charts again, from a run's data)
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { formatDuration, type BrokerReport } from './harness.js';
import { writeReports, type RunInfo } from './report.js';

const BROKERS = ['nats', 'rabbitmq', 'kafka'] as const;
type Broker = (typeof BROKERS)[number];

function parseArgs(argv: string[]): { brokers: Broker[]; quick: boolean; cpuProf: boolean; c1: boolean } {
  const brokers: Broker[] = [];
  let quick = false;
  let cpuProf = false;
  let c1 = false;
  for (const arg of argv) {
    if (arg === '--quick') quick = true;
    else if (arg === '--cpu-prof') cpuProf = true;
    else if (arg === '--c1') c1 = true;
    else if ((BROKERS as readonly string[]).includes(arg)) brokers.push(arg as Broker);
    else
      throw new TypeError(
        `Unknown argument "${arg}": expected ${BROKERS.join('|')}, --quick, --c1 or --cpu-prof`,
      );
  }
  if (c1 && brokers.some((b) => b !== 'kafka')) throw new TypeError('--c1 is a mode of the Kafka bench only');
  return { brokers: brokers.length ? brokers : c1 ? ['kafka'] : [...BROKERS], quick, cpuProf, c1 };
}

/** The Node binary a broker's bench runs on: Node 24 for Kafka (both drivers), this one otherwise. */
function nodeFor(broker: Broker): string {
  if (broker !== 'kafka' || process.env.BENCH_KAFKA_NODE === 'current') return process.execPath;
  return execFileSync('bash', [path.join('scripts', 'node24.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

function runBench(broker: Broker, out: string, quick: boolean, cpuProf: boolean, c1: boolean): Promise<void> {
  const args = [
    ...(cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${path.join('bench', 'results', 'profiles')}`] : []),
    '--import',
    './scripts/register-ts.mjs',
    path.join('bench', `${broker}.ts`),
    ...(quick ? ['--quick'] : []),
    ...(c1 ? ['--c1'] : []),
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(nodeFor(broker), args, {
      stdio: 'inherit',
      env: { ...process.env, BENCH_OUT: out },
    });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`bench/${broker}.ts exited with ${signal ?? code}`)),
    );
  });
}

/** Renders the report and charts again from the JSON a run wrote next to its report. */
async function render(file: string): Promise<void> {
  const data = JSON.parse(readFileSync(file, 'utf8')) as {
    date: string;
    run: RunInfo;
    reports: BrokerReport[];
  };
  const files = await writeReports(data.reports, data.run, path.dirname(file), data.date);
  console.log(`wrote ${files.join(', ')}`);
}

async function main() {
  const at = process.argv.indexOf('--render');
  if (at > 0) return render(process.argv[at + 1] ?? '');
  const { brokers, quick, cpuProf, c1 } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'bench-'));
  const reports: BrokerReport[] = [];
  try {
    for (const broker of brokers) {
      const t0 = performance.now();
      console.log(`\n#### ${broker}${quick ? ' (quick)' : ''}${c1 ? ' (c=1 only)' : ''}`);
      const out = path.join(tmp, `${broker}.json`);
      await runBench(broker, out, quick, cpuProf, c1);
      reports.push(JSON.parse(readFileSync(out, 'utf8')) as BrokerReport);
      console.log(`#### ${broker} took ${formatDuration(performance.now() - t0)}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  const elapsedMs = performance.now() - started;
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  const files = await writeReports(reports, { quick, c1, elapsedMs, command });
  console.log(`\nall benches took ${formatDuration(elapsedMs)}; wrote ${files.join(', ')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
