// node scripts/cluster/cli.mjs up|down|status [nats|rabbitmq|kafka]...  (scripts/brokers.sh cluster …)
// Runs the 3-node clusters of clusterEnv() (scripts/broker-env.mjs); no broker named = all available.
import { clusterEnv } from '../broker-env.mjs';

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
if (!['up', 'down', 'status'].includes(command)) {
  console.error('usage: scripts/brokers.sh cluster up|down|status [nats|rabbitmq|kafka]...');
  process.exit(2);
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
