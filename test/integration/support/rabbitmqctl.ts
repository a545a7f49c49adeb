import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs rabbitmqctl against the node scripts/brokers.sh started (its state under .brokers/rabbitmq,
 * node rabbit@localhost, distribution on loopback), as that script does.
 */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const state = resolve(process.env.BROKERS_STATE_DIR ?? '.brokers', 'rabbitmq');
  const { stdout } = await run('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', ...args], {
    timeout: 60_000,
    env: {
      ...process.env,
      HOME: `${state}/home`,
      RABBITMQ_CONF_ENV_FILE: `${state}/rabbitmq-env.conf`,
      RABBITMQ_NODENAME: 'rabbit@localhost',
      RABBITMQ_USE_LONGNAME: 'false',
      ERL_EPMD_ADDRESS: '127.0.0.1',
      RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    },
  });
  return stdout;
}
