// NATS request/reply: raw nats.js, Nest's built-in NATS transport and ours, in one process, on one nats-server.
// Concurrency curve with a ~100 B JSON payload, then 16 KiB and 256 KiB payloads.
// Run: npm run bench:nats [-- --quick]   or   npm run bench -- nats   (BENCH_MS per measurement,
// BENCH_ROUNDS with the median reported: see bench/harness.ts; the broker from scripts/brokers.sh up nats;
// BENCH_OTEL=sdk with the OpenTelemetry SDK registered: bench/otel-sdk.ts; BENCH_OTEL set at all adds an
// A/B pair in the same process, ours with the default `telemetry` and with it off, on servers of their own)
import type { INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientNats, Transport } from '@nestjs/microservices';
import { connect } from '@nats-io/transport-node';
import { firstValueFrom } from 'rxjs';
import { NatsRpcClient, NatsRpcServer } from '../lib/nats/index.js';
import {
  BROKERS,
  BENCH_MS,
  BENCH_ROUNDS,
  CONCURRENCIES,
  LARGE_CONCURRENCIES,
  PAYLOAD_SIZES,
  compare,
  finish,
  formatBytes,
  measureBrokerCpu,
  pairRatios,
  payloadOf,
  planRuns,
  plannedRuns,
  throughputTarget,
  type Section,
  type Target,
} from './harness.js';
import { registerOtelSdkIfAsked } from './otel-sdk.js';
import { echoModule } from './echo-module.js';

const servers = process.env.NATS_URL ?? BROKERS.NATS_URL;

/**
 * With BENCH_OTEL set: an A/B pair in one process, ours with the default `telemetry` against ours with
 * it off on both sides, each on a server of its own (no other server subscribes to their subjects).
 */
const TRACED = 'nestjs-broker-rpc, telemetry default';
const QUIET = 'nestjs-broker-rpc, telemetry off';
const TELEMETRY_OFF = { tracing: false, metrics: false };
/** Raw nats.js whose server parses the request and encodes its reply, as a handler does (large payloads). */
const RAW_JSON = 'raw nats.js, JSON server';

async function main() {
  const otel = registerOtelSdkIfAsked();
  measureBrokerCpu('nats');
  // raw nats.js: a subscription that echoes, and nc.request()
  const rawServer = await connect({ servers });
  rawServer.subscribe('bench.raw.echo', { callback: (_e, m) => void m.respond(m.data) });
  // For the large payloads, also a raw server that does a handler's work: parse the JSON, encode the reply.
  rawServer.subscribe('bench.raw.json', {
    callback: (_e, m) => void m.respond(JSON.stringify(m.json())),
  });
  const rawClient = await connect({ servers });

  const nestApp = await NestFactory.createMicroservice(echoModule('bench.nest.echo'), {
    transport: Transport.NATS,
    options: { servers },
    logger: false,
  });
  await nestApp.listen();
  const nestClient = new ClientNats({ servers });
  await nestClient.connect();

  const ourApp = await NestFactory.createMicroservice(echoModule('bench.ours.echo'), {
    strategy: new NatsRpcServer({ servers, maxConcurrency: 256 }),
    logger: false,
  });
  await ourApp.listen();
  const ourClient = new NatsRpcClient({ servers });
  await ourClient.connect();
  const withPair = process.env.BENCH_OTEL !== undefined;
  const pair: Array<{ name: string; pattern: string; app: INestMicroservice; client: NatsRpcClient }> = [];
  for (const [name, pattern, telemetry] of withPair
    ? ([
        [TRACED, 'bench.traced.echo', undefined],
        [QUIET, 'bench.quiet.echo', TELEMETRY_OFF],
      ] as const)
    : []) {
    const app = await NestFactory.createMicroservice(echoModule(pattern), {
      strategy: new NatsRpcServer({ servers, maxConcurrency: 256, ...(telemetry ? { telemetry } : {}) }),
      logger: false,
    });
    await app.listen();
    const client = new NatsRpcClient({ servers, ...(telemetry ? { telemetry } : {}) });
    await client.connect();
    pair.push({ name, pattern, app, client });
  }

  const contenders = (payload: object, large = false): Array<[string, () => Promise<unknown>]> => {
    // each call encodes its payload, as a nats.js caller does (and the other contenders' clients do)
    const request = (subject: string) => () =>
      rawClient.request(subject, JSON.stringify(payload), { timeout: 5_000 }).then((m) => m.json());
    return [
      ['raw nats.js', request('bench.raw.echo')],
      ...(large ? [[RAW_JSON, request('bench.raw.json')] as [string, () => Promise<unknown>]] : []),
      ['nest built-in', () => firstValueFrom(nestClient.send('bench.nest.echo', payload))],
      ['nestjs-broker-rpc', () => firstValueFrom(ourClient.send('bench.ours.echo', payload))],
      ...pair.map(({ name, pattern, client }): [string, () => Promise<unknown>] => [
        name,
        () => firstValueFrom(client.send(pattern, payload)),
      ]),
    ];
  };
  const pairs: Array<[string, string, string]> = [
    ['nestjs-broker-rpc', 'raw nats.js', 'against the raw client'],
    ['nestjs-broker-rpc', 'nest built-in', 'against Nest'],
    ...(withPair ? [[TRACED, QUIET, 'telemetry default against off'] as [string, string, string]] : []),
  ];
  const [small, ...large] = PAYLOAD_SIZES;
  const count = withPair ? 5 : 3;
  planRuns(plannedRuns(count, CONCURRENCIES) + large.length * plannedRuns(count + 1, LARGE_CONCURRENCIES));
  const largePairs: Array<[string, string, string]> = [
    ...pairs,
    ['nestjs-broker-rpc', RAW_JSON, 'against a raw server doing the JSON work'],
  ];
  const sections: Section[] = [];
  for (const bytes of [small, ...large]) {
    const concurrencies = bytes === small ? CONCURRENCIES : LARGE_CONCURRENCIES;
    const section = formatBytes(bytes);
    const results = await compare(
      contenders(payloadOf(bytes), bytes !== small),
      concurrencies,
      BENCH_ROUNDS,
      BENCH_MS,
      {
        section,
        payloadBytes: bytes,
      },
    );
    sections.push({
      title: `payload ${section}`,
      kind: bytes === small ? 'concurrency' : 'payload',
      payloadBytes: bytes,
      results,
      pairs: bytes === small ? pairs : largePairs,
      ratiosAgainst: ['raw nats.js', 'nest built-in'],
    });
  }

  const at = (s: Section, c: number, base: string) =>
    pairRatios(s.results, largePairs).find((p) => p.concurrency === c && p.base === base);
  const c64 = CONCURRENCIES.includes(64) ? 64 : CONCURRENCIES.at(-1)!;
  const targets: Target[] = [
    throughputTarget(`c=${c64}, 100 B: ours ≥ 0.9× raw nats.js`, at(sections[0]!, c64, 'raw nats.js'), 0.9),
    throughputTarget(`c=${c64}, 100 B: ours ≥ 1.3× Nest`, at(sections[0]!, c64, 'nest built-in'), 1.3),
    ...sections.slice(1).flatMap((s): Target[] => {
      const c = LARGE_CONCURRENCIES.at(-1)!;
      return [
        throughputTarget(
          `c=${c}, ${s.title}: ours ≥ 0.9× raw MB/s (raw server doing the JSON work)`,
          at(s, c, RAW_JSON),
          0.9,
        ),
        {
          ...throughputTarget(
            `c=${c}, ${s.title}: ours against the raw server that echoes bytes`,
            at(s, c, 'raw nats.js'),
            0.9,
          ),
          info: true,
        },
      ];
    }),
  ];
  const notes = [
    "`raw nats.js` echoes the request's bytes as they came (its client encodes and parses JSON); `raw nats.js, JSON server` (large payloads) parses the request and encodes the reply on the server too, the work a handler's transport does, as the RabbitMQ bench's raw server does. The 100 B targets are against the first; the large-payload MB/s targets against the second (equal work), with the first beside them.",
    ...(otel === 'sdk' ? ['OpenTelemetry SDK registered (BENCH_OTEL=sdk)'] : []),
  ];
  await finish({ broker: 'nats', title: 'NATS', sections, targets, notes });

  for (const { app, client } of pair) {
    await client.close();
    await app.close();
  }
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
