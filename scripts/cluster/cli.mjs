// node scripts/cluster/cli.mjs up|down|status|install [nats|rabbitmq|kafka]...  (scripts/brokers.sh cluster …)
// Runs the 3-node clusters of clusterEnv() (scripts/broker-env.mjs); no broker named = all available.
// `install` fetches what they need from the network (nats-server, Kafka's jars, RabbitMQ 4.0.5, nftables)
// and starts nothing: `npm run test:chaos` runs it before it enters a network namespace without network.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { clusterEnv, ROOT } from '../broker-env.mjs';

const MODULES = {
  nats: () => import('./nats.mjs'),
  rabbitmq: () => import('./rabbitmq.mjs'),
  kafka: () => import('./kafka.mjs'),
};

const [command, ...named] = process.argv.slice(2);
const brokers = named.length ? named : Object.keys(MODULES);
const env = clusterEnv();
for (const b of brokers) {
  if (!MODULES[b]) {
    console.error(`[cluster] unknown or unsupported broker ${b} (have: ${Object.keys(MODULES).join(', ')})`);
    process.exit(2);
  }
}
if (!['up', 'down', 'status', 'install'].includes(command)) {
  console.error('usage: scripts/brokers.sh cluster up|down|status|install [nats|rabbitmq|kafka]...');
  process.exit(2);
}
if (command === 'install') {
  // RabbitMQ's cluster runs 4.0.5 (./rabbitmq-4.mjs), not the single node's package
  const viaBrokersSh = brokers.filter((b) => b !== 'rabbitmq');
  const sh = spawnSync(
    'bash',
    [join(ROOT, 'scripts/brokers.sh'), 'install', 'cluster-tools', ...viaBrokersSh],
    {
      stdio: 'inherit',
    },
  );
  if (sh.status !== 0) process.exit(1);
  if (brokers.includes('rabbitmq')) {
    const { install } = await import('./rabbitmq-4.mjs');
    await install().catch((err) => {
      console.error(`[cluster] rabbitmq: ${err.message}`);
      process.exit(1);
    });
  }
  process.exit(0);
}
let failed = false;
for (const b of brokers) {
  const mod = await MODULES[b]();
  const t0 = Date.now();
  try {
    if (command === 'up') {
      await mod.up(env);
      console.log(`[cluster] ${b}: up in ${((Date.now() - t0) / 1000).toFixed(1)} s (state ${env.stateDir})`);
    } else if (command === 'down') {
      await mod.down(env);
      console.log(`[cluster] ${b}: down`);
    } else {
      for (const line of await mod.status(env)) console.log(`[cluster] ${b}: ${line}`);
    }
  } catch (err) {
    failed = true;
    console.error(`[cluster] ${b}: ${err.message}`);
  }
}
process.exit(failed ? 1 : 0);
