import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Restarts one broker through the project's broker script (it must have started it). */
export async function restartBroker(broker: 'nats' | 'rabbitmq' | 'kafka'): Promise<void> {
  await run('bash', ['scripts/brokers.sh', 'restart', broker], { timeout: 180_000 });
}
