// NATS request/reply: raw nats.js, Nest's built-in NATS transport and ours, in one process, on one nats-server.
// Run: npm run bench:nats   (BENCH_MS=5000 per measurement, BENCH_ROUNDS=3 with the median reported;
// the broker from scripts/brokers.sh up nats)
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientNats, MessagePattern, Payload, Transport } from '@nestjs/microservices';
import { connect } from '@nats-io/transport-node';
import { firstValueFrom } from 'rxjs';
import { NatsRpcClient, NatsRpcServer } from '../lib/nats/index.js';
import { BROKERS, compare, measureBrokerCpu, printPairs, printTable } from './harness.js';

const servers = process.env.NATS_URL ?? BROKERS.NATS_URL;
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };

@Controller()
class EchoController {
  @MessagePattern('bench.nest.echo')
  nest(@Payload() data: unknown) {
    return data;
  }
  @MessagePattern('bench.ours.echo')
  ours(@Payload() data: unknown) {
    return data;
  }
}
@Module({ controllers: [EchoController] })
class EchoModule {}

async function main() {
  measureBrokerCpu('nats');
  // raw nats.js: a subscription that echoes, and nc.request()
  const rawServer = await connect({ servers });
  rawServer.subscribe('bench.raw.echo', { callback: (_e, m) => void m.respond(m.data) });
  const rawClient = await connect({ servers });
  const rawBody = JSON.stringify(payload);

  const nestApp = await NestFactory.createMicroservice(EchoModule, {
    transport: Transport.NATS,
    options: { servers },
    logger: false,
  });
  await nestApp.listen();
  const nestClient = new ClientNats({ servers });
  await nestClient.connect();

  const ourApp = await NestFactory.createMicroservice(EchoModule, {
    strategy: new NatsRpcServer({ servers, maxConcurrency: 256 }),
    logger: false,
  });
  await ourApp.listen();
  const ourClient = new NatsRpcClient({ servers });
  await ourClient.connect();

  const contenders: Array<[string, () => Promise<unknown>]> = [
    [
      'raw nats.js',
      () => rawClient.request('bench.raw.echo', rawBody, { timeout: 5_000 }).then((m) => m.json()),
    ],
    ['nest built-in', () => firstValueFrom(nestClient.send('bench.nest.echo', payload))],
    ['nestjs-broker-rpc', () => firstValueFrom(ourClient.send('bench.ours.echo', payload))],
  ];
  const results = await compare(contenders);
  printTable(results, ['raw nats.js', 'nest built-in']);
  printPairs(results, [
    ['nestjs-broker-rpc', 'raw nats.js', 'against the raw client'],
    ['nestjs-broker-rpc', 'nest built-in', 'against Nest'],
  ]);

  await ourClient.close();
  await ourApp.close();
  await nestClient.close();
  await nestApp.close();
  await rawClient.close();
  await rawServer.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
