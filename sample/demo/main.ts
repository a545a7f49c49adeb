// npm run demo [-- memory|nats|rabbitmq|kafka] [--serve] [--verbose]
//
// Starts the worker microservice and the HTTP gateway in this process, calls the gateway's endpoints
// over HTTP and prints what came back. Exits 0 when every call answered as expected, 1 otherwise.
// --serve keeps the gateway up afterwards; --verbose prints Nest's warnings and errors as they come.
// One process: the in-memory broker lives in it, and over a real broker the two apps still share
// nothing but the broker.
import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { isTransportName, type Transport, TRANSPORTS } from '../src/transports.js';
import { BrokerError, brokersScript, listening } from './brokers.js';
import * as checks from './checks.js';
import { load } from './load.js';
import { note, out, seconds, step } from './print.js';

const USAGE = 'usage: npm run demo [-- memory|nats|rabbitmq|kafka] [--serve] [--verbose]';
const LOAD = { durationMs: 3_000, concurrency: 16 };

function parseArgs(args: string[]): { transport: Transport; serve: boolean; verbose: boolean } {
  let name = 'memory';
  let serve = false;
  let verbose = false;
  for (const arg of args) {
    if (arg === '--serve') serve = true;
    else if (arg === '--verbose') verbose = true;
    else if (isTransportName(arg)) name = arg;
    else {
      console.error(`unknown argument "${arg}"\n${USAGE}`);
      process.exit(2);
    }
  }
  return { transport: TRANSPORTS[name as keyof typeof TRANSPORTS], serve, verbose };
}

const { transport, serve, verbose } = parseArgs(process.argv.slice(2));
// Nest and the apps load after the arguments are checked, so a usage error answers at once.
const { startGateway, startWorker } = await import('../src/apps.js');
const { QuietLogger } = await import('./quiet-logger.js');
/** Nest's warnings and errors stay out of the transcript; the end says how many there were. */
const logger = new QuietLogger(verbose);
const cleanups: Array<() => Promise<void>> = [];
let stopping: Promise<never> | undefined;

/** Closes what was started, newest first, and exits; the first call wins. */
function finish(code: number): Promise<never> {
  stopping ??= (async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err) => note(`could not stop cleanly: ${(err as Error).message}`));
    }
    process.exit(code);
  })();
  return stopping;
}

process.once('SIGINT', () => {
  out();
  note('stopping…');
  void finish(130);
});
process.once('SIGTERM', () => void finish(143));

async function timed<T>(
  label: string,
  start: () => Promise<T>,
  what: (value: T) => string | Promise<string>,
): Promise<T> {
  const t0 = performance.now();
  try {
    const value = await start();
    step(undefined, label, `${await what(value)} (${seconds(performance.now() - t0)})`);
    return value;
  } catch (err) {
    step(false, label, `could not start: ${(err as Error).message}`);
    if (err instanceof BrokerError) for (const line of err.logTail.split('\n')) note(line);
    for (const line of logger.kept) note(line);
    return finish(1);
  }
}

out(`nestjs-broker-rpc demo: an HTTP gateway calls a worker microservice with client.send()`);
step(undefined, 'transport', `${transport.name}, over ${transport.via}`);

const broker = transport.broker;
if (broker) {
  if (await listening(broker)) {
    step(undefined, broker.name, `already running on ${broker.host}:${broker.port}, used as it is`);
  } else {
    step(undefined, broker.name, `not running: starting it (bash scripts/brokers.sh up ${broker.name})`);
    // Registered first: a Ctrl-C or a failure while it starts stops it too (down stops only what brokers.sh started).
    cleanups.push(async () => {
      await brokersScript('down', broker);
      step(undefined, broker.name, 'stopped (this demo started it)');
    });
    await timed(
      broker.name,
      () => brokersScript('up', broker),
      () => `started on ${broker.host}:${broker.port}`,
    );
  }
}

const worker: INestMicroservice = await timed(
  'worker',
  () => startWorker(transport, logger),
  () => 'listening on math.*',
);
cleanups.push(() => worker.close());
const port = serve ? Number(process.env.PORT ?? 3000) : 0;
const gateway: INestApplication = await timed(
  'gateway',
  () => startGateway(transport, logger, port),
  async (app) => `listening on ${await app.getUrl()}`,
);
cleanups.push(() => gateway.close());
const base = await gateway.getUrl();
out();

const results: boolean[] = [];
const started = performance.now();
for (const check of [checks.sum, checks.stream, checks.remoteError, checks.timeout, checks.noResponders]) {
  results.push(await check(base).catch((err) => (step(false, check.name, (err as Error).message), false)));
}
results.push(await load(base, LOAD));
const passed = results.filter(Boolean).length;
out();
out(
  passed === results.length
    ? `all ${passed} checks passed (${seconds(performance.now() - started)})`
    : `${results.length - passed} of ${results.length} checks FAILED`,
);
const code = passed === results.length ? 0 : 1;
if (logger.count > 0 && !verbose) {
  out(
    `the apps logged ${logger.count} warning(s) or error(s)${code === 0 ? ' (--verbose shows them)' : ', first:'}`,
  );
  if (code !== 0) for (const line of logger.kept) note(line);
}

if (serve) {
  out();
  out(`the gateway keeps serving on ${base} (Ctrl-C stops it); try:`);
  const tries: Array<[string, string]> = [
    [`curl '${base}/sum?numbers=1,2,3'`, ''],
    [`curl '${base}/sum?numbers=1,x'`, "422: the worker's validation (E_VALIDATION)"],
    [`curl -N '${base}/count?to=10'`, 'NDJSON, one line every 100 ms'],
    [`curl -i '${base}/divide?a=1&b=0'`, '422 RpcRemoteError'],
    [`curl -i '${base}/slow'`, '504 RpcTimeoutError'],
    [`curl -i '${base}/nobody'`, '503 RpcNoRespondersError'],
    [`curl '${base}/ping'`, ''],
  ];
  const width = Math.max(...tries.map(([command]) => command.length));
  for (const [command, comment] of tries) note(comment ? `${command.padEnd(width)}  # ${comment}` : command);
  process.removeAllListeners('SIGINT');
  process.once('SIGINT', () => {
    out();
    note('stopping…');
    void finish(code);
  });
} else {
  out();
  await finish(code);
}
