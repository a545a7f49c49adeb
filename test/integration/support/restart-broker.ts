import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { TEST_BROKERS, testBrokersProcessEnv } from '../brokers.js';

const run = promisify(execFile);

/** Restarts one of the test suite's brokers through the project's broker script. */
export async function restartBroker(broker: 'nats' | 'rabbitmq' | 'kafka'): Promise<void> {
  await run('bash', ['scripts/brokers.sh', 'restart', broker], {
    timeout: 180_000,
    env: testBrokersProcessEnv(),
  });
}

/**
 * Kills one of the test suite's brokers with SIGKILL (no shutdown, no flush), waits until the process
 * is gone, then starts it again with the project's broker script.
 */
export async function killAndRestartBroker(broker: 'rabbitmq'): Promise<void> {
  const state = resolve(TEST_BROKERS.BROKERS_STATE_DIR, broker);
  const pid = Number((await readFile(`${state}/${broker}.pid`, 'utf8')).trim());
  process.kill(pid, 'SIGKILL');
  // no event tells when another process is gone: poll it
  while (isAlive(pid)) await delay(20);
  await run('bash', ['scripts/brokers.sh', 'up', broker], { timeout: 180_000, env: testBrokersProcessEnv() });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
