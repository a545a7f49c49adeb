// npm run test:chaos [-- nats rabbitmq kafka]: the chaos suite (test/chaos/) on 3-node clusters.
// TEST_KAFKA_DRIVER=platformatic runs the Kafka spec on the @platformatic/kafka driver (under Node 24).
// It re-runs itself in a new network namespace (`unshare -n`, loopback brought up), so the clusters,
// their ports and the nftables rules of the partitions never touch the machine's loopback and vanish
// with the namespace; there it starts each cluster (scripts/cluster/), runs its spec, stops it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './broker-env.mjs';

const ALL = ['nats', 'rabbitmq', 'kafka'];
const brokers = process.argv.slice(2).length ? process.argv.slice(2) : ALL;
for (const b of brokers)
  if (!ALL.includes(b)) throw new Error(`unknown broker ${b} (have: ${ALL.join(', ')})`);

const run = (command, args, env = {}) =>
  spawnSync(command, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

if (process.env.CHAOS_NETNS !== '1') {
  const self = fileURLToPath(import.meta.url);
  const t0 = Date.now();
  // the namespace has no network: packages, jars and RabbitMQ 4.0.5 are fetched before entering it
  if (run('node', ['scripts/cluster/cli.mjs', 'install', ...brokers]) !== 0) process.exit(1);
  const inner = { CHAOS_NETNS: '1' };
  if (brokers.includes('kafka') && process.env.TEST_KAFKA_DRIVER === 'platformatic') {
    // @platformatic/kafka needs Node 24 (scripts/node24.sh fetches it from the npm registry)
    const node24 = spawnSync('bash', ['scripts/node24.sh'], { cwd: ROOT, encoding: 'utf8' });
    if (node24.status !== 0) process.exit(1);
    inner.CHAOS_KAFKA_NODE = node24.stdout.trim();
  }
  const code = run('unshare', ['-n', process.execPath, self, ...brokers], inner);
  console.log(
    `[chaos] ${brokers.join(', ')}: ${code === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
  process.exit(code);
}

if (run('ip', ['link', 'set', 'lo', 'up']) !== 0) process.exit(1);
// inside the namespace every port is free: the clusters take the suite's base (default 20000)
const env = { BROKERS_PORT_BASE: process.env.TEST_BROKERS_PORT_BASE || '20000', BROKERS_STATE_DIR: '' };
let failed = false;
for (const broker of brokers) {
  const t0 = Date.now();
  if (run('node', ['scripts/cluster/cli.mjs', 'up', broker], env) !== 0) {
    failed = true;
  } else {
    const node = (broker === 'kafka' && process.env.CHAOS_KAFKA_NODE) || process.execPath;
    const code = run(
      node,
      [
        'node_modules/vitest/vitest.mjs',
        'run',
        '--config',
        'vitest.chaos.config.ts',
        `test/chaos/${broker}-chaos.spec.ts`,
      ],
      env,
    );
    failed ||= code !== 0;
  }
  run('node', ['scripts/cluster/cli.mjs', 'down', broker], env);
  console.log(`[chaos] ${broker}: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  try {
    console.log(readFileSync(resolve(ROOT, `bench/results/chaos-${broker}.md`), 'utf8'));
  } catch {
    // no report: the spec did not get that far
  }
}
process.exit(failed ? 1 : 0);
