import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { testBrokersProcessEnv } from '../brokers.js';

const run = promisify(execFile);

/** Restarts one of the test suite's brokers through the project's broker script. */
export async function restartBroker(broker: 'nats' | 'rabbitmq' | 'kafka'): Promise<void> {
  await run('bash', ['scripts/brokers.sh', 'restart', broker], {
    timeout: 180_000,
    env: testBrokersProcessEnv(),
  });
}
