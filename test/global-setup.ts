// Vitest global setup of the integration project: brings up the test suite's own brokers (ports and
// state of their own, from scripts/broker-env.mjs, so brokers a user runs on the standard ports are
// left alone), the FastStream venv and the Spring peer, in parallel, then hands the run over. At the
// end it stops only the brokers it started; brokers of this set left running by an earlier run
// (TEST_BROKERS_KEEP=1) are reused.
import { spawn } from 'node:child_process';
import { TEST_BROKERS, testBrokersProcessEnv } from './integration/brokers.js';

const BROKERS = ['nats', 'rabbitmq', 'kafka'] as const;
type Broker = (typeof BROKERS)[number];

interface Run {
  code: number | null;
  output: string;
}

/** Runs a command, echoing its lines with a prefix as they come, and keeps the output for an error message. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv, echo: boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const take = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output += text;
      if (echo) process.stderr.write(text);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** The brokers of the test set that an earlier run of this setup started and left running. */
async function alreadyOurs(env: NodeJS.ProcessEnv): Promise<Set<Broker>> {
  const ours = new Set<Broker>();
  for (const broker of BROKERS) {
    const { code, output } = await run('bash', ['scripts/brokers.sh', 'status', broker], env, false);
    if (code === 0 && output.includes('started by brokers.sh)')) ours.add(broker);
  }
  return ours;
}

function tail(text: string, lines: number): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export default async function setup(): Promise<() => Promise<void>> {
  const env = testBrokersProcessEnv();
  const before = await alreadyOurs(env);
  process.stderr.write(
    `[test setup] brokers of the test suite: ${TEST_BROKERS.NATS_URL}, ${TEST_BROKERS.AMQP_URL.replace(/\/\/[^@]*@/, '//')}, ` +
      `kafka ${TEST_BROKERS.KAFKA_BROKERS} (state ${TEST_BROKERS.BROKERS_STATE_DIR})` +
      (before.size ? `; reusing ${[...before].join(', ')}` : '') +
      '\n',
  );
  const [brokers, venv, spring] = await Promise.all([
    run('bash', ['scripts/brokers.sh', 'up'], env, true),
    run('bash', ['scripts/interop-env.sh'], process.env, true),
    run('bash', ['scripts/spring-peer.sh'], process.env, true),
  ]);
  const started = BROKERS.filter((b) => !before.has(b));
  const stop = async () => {
    if (process.env.TEST_BROKERS_KEEP === '1') return;
    // the secure nats-server a secure spec may have started (scripts/secure-brokers.mjs); it stops nothing else
    await run('node', ['scripts/secure-brokers.mjs', 'down'], env, false);
    if (started.length === 0) return;
    const down = await run('bash', ['scripts/brokers.sh', 'down', ...started], env, false);
    if (down.code !== 0)
      process.stderr.write(`[test setup] stopping the brokers failed:\n${tail(down.output, 20)}\n`);
  };
  if (brokers.code !== 0 || venv.code !== 0 || spring.code !== 0) {
    // brokers.sh stops a broker that failed to become ready, and says why; stop the rest it started
    await stop();
    const what =
      brokers.code !== 0
        ? `the test brokers (to use another set of ports: TEST_BROKERS_PORT_BASE=<n> npm test)`
        : venv.code !== 0
          ? 'the FastStream venv (scripts/interop-env.sh)'
          : 'the Spring peer (scripts/spring-peer.sh)';
    const output = brokers.code !== 0 ? brokers.output : venv.code !== 0 ? venv.output : spring.output;
    throw new Error(`Could not start ${what}; nothing was tested.\n${tail(output, 60)}`);
  }
  return stop;
}
