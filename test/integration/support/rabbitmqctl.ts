import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { TEST_BROKERS } from '../brokers.js';

const run = promisify(execFile);

/**
 * Runs rabbitmqctl against the test suite's RabbitMQ node (its state under the set's folder, its own
 * node name, distribution on loopback), as scripts/brokers.sh does.
 */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const state = resolve(TEST_BROKERS.BROKERS_STATE_DIR, 'rabbitmq');
  const { stdout } = await run('/usr/lib/rabbitmq/bin/rabbitmqctl', ['-q', ...args], {
    timeout: 60_000,
    env: {
      ...process.env,
      HOME: `${state}/home`,
      RABBITMQ_CONF_ENV_FILE: `${state}/rabbitmq-env.conf`,
      RABBITMQ_NODENAME: TEST_BROKERS.RABBIT_NODENAME,
      RABBITMQ_USE_LONGNAME: 'false',
      ERL_EPMD_ADDRESS: '127.0.0.1',
      // a CLI VM that crashes writes its dump here, not into the working directory
      ERL_CRASH_DUMP: `${state}/erl_crash.dump`,
      RABBITMQ_CTL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
    },
  });
  return stdout;
}
