// NATS JetStream mode against core mode and Nest's built-in NATS transport, in one process, on one
// nats-server: the price of stored requests (a publish ack per request, a file-backed stream, an ack
// per reply). Echo of a ~100 B JSON payload over a concurrency curve; prints tables and ratios, and
// writes no report file.
// Run: npm run bench:nats-jetstream [-- --quick]   (BENCH_MS, BENCH_ROUNDS: see bench/harness.ts;
// the broker from scripts/brokers.sh up nats, JetStream on)
import { NestFactory } from '@nestjs/core';
import { ClientNats, Transport } from '@nestjs/microservices';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { firstValueFrom } from 'rxjs';
import { NatsRpcClient, NatsRpcServer } from '../lib/nats/index.js';
import {
  BROKERS,
  BENCH_MS,
  BENCH_ROUNDS,
  CONCURRENCIES,
  compare,
  measureBrokerCpu,
  pairRatios,
  payloadOf,
  planRuns,
  plannedRuns,
  printPairs,
  printTable,
} from './harness.js';
import { echoModule } from './echo-module.js';

const servers = process.env.NATS_URL ?? BROKERS.NATS_URL;
const stream = 'BENCH_RPC_REQUESTS';

async function main() {
  measureBrokerCpu('nats');
  const admin = await connect({ servers });
  const jsm = await jetstreamManager(admin);
  await jsm.streams.delete(stream).catch(() => undefined); // a fresh stream: no backlog from an earlier run

  const nestApp = await NestFactory.createMicroservice(echoModule('bench.nest.echo'), {
    transport: Transport.NATS,
    options: { servers },
    logger: false,
  });
  await nestApp.listen();
  const nestClient = new ClientNats({ servers });
  await nestClient.connect();

  const coreApp = await NestFactory.createMicroservice(echoModule('bench.core.echo'), {
    strategy: new NatsRpcServer({ servers, maxConcurrency: 256 }),
    logger: false,
  });
  await coreApp.listen();
  const coreClient = new NatsRpcClient({ servers });
  await coreClient.connect();

  const jsApp = await NestFactory.createMicroservice(echoModule('bench.js.echo'), {
    strategy: new NatsRpcServer({
      servers,
      maxConcurrency: 256,
      jetstream: { stream, deadLetterSubject: false, consumerPrefix: 'bench' },
    }),
    logger: false,
  });
  await jsApp.listen();
  const jsClient = new NatsRpcClient({ servers, jetstream: { stream } });
  await jsClient.connect();

  const payload = payloadOf(100);
  const contenders: Array<[string, () => Promise<unknown>]> = [
    ['nest built-in', () => firstValueFrom(nestClient.send('bench.nest.echo', payload))],
    ['core mode', () => firstValueFrom(coreClient.send('bench.core.echo', payload))],
    ['jetstream mode', () => firstValueFrom(jsClient.send('bench.js.echo', payload))],
  ];
  const pairs: Array<[string, string, string]> = [
    ['jetstream mode', 'core mode', 'against core mode'],
    ['jetstream mode', 'nest built-in', 'against Nest'],
  ];
  planRuns(plannedRuns(3, CONCURRENCIES));
  const results = await compare(contenders, CONCURRENCIES, BENCH_ROUNDS, BENCH_MS, {
    section: '100 B',
    payloadBytes: 100,
  });
  console.log('\n== NATS JetStream mode: payload 100 B (file storage, work-queue stream)');
  printTable(results, ['core mode', 'nest built-in']);
  printPairs(results, pairs);
  for (const p of pairRatios(results, pairs))
    console.log(`c=${p.concurrency} ${p.name} / ${p.base}: ${p.ratio.toFixed(2)}×`);

  await jsClient.close();
  await jsApp.close();
  await coreClient.close();
  await coreApp.close();
  await nestClient.close();
  await nestApp.close();
  await jsm.streams.delete(stream).catch(() => undefined);
  await admin.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
