// RabbitMQ request/reply: raw amqplib with direct reply-to, Nest's built-in RMQ transport and ours, in
// one process, on one broker: a concurrency curve with a ~100 B JSON payload, then 16 KiB and 256 KiB
// payloads (raw, Nest and ours on defaults). Each side runs with its
// defaults (Nest: noAck, at most once; ours: ack after the reply, at least once) and with the other's
// delivery guarantee (Nest with noAck: false acking in the handler, as its docs show; ours with noAck),
// so ratios can be read like for like; ours also runs with its request queues declared as classic
// queues version 2 (`x-queue-version: 2`). BENCH_PLAIN=1 adds ours with coalesceWrites off;
// BENCH_NO_EXPIRY=1 adds ours with `timeout: 0` (requests published without a per-message `expiration`);
// BENCH_ACK_EACH=1 adds ours with `batchAcks: false` (one `basic.ack` per request, as the raw server);
// BENCH_RAW_PROPS=1 adds raw amqplib variants, each with one of the properties ours sends (see RawExtras).
// Run: npm run bench:rabbitmq [-- --quick]   or   npm run bench -- rabbitmq
//      BENCH_MS per measurement, BENCH_ROUNDS (median round reported): see bench/harness.ts;
//      AMQP_URL (default amqp://guest:guest@127.0.0.1:5672); the broker from `bash scripts/brokers.sh up rabbitmq`.
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientRMQ, Ctx, MessagePattern, Payload, RmqContext, Transport } from '@nestjs/microservices';
import amqp, { type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { RabbitRpcClient, RabbitRpcServer } from '../lib/rabbitmq/index.js';
import { coalesceWrites } from '../lib/rabbitmq/rabbit-coalesce.js';
import {
  BROKERS,
  BENCH_MS,
  BENCH_ROUNDS,
  CONCURRENCIES,
  LARGE_CONCURRENCIES,
  PAYLOAD_SIZES,
  compare,
  cpuTarget,
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

const url = process.env.AMQP_URL ?? BROKERS.AMQP_URL;
const run = randomBytes(4).toString('hex');
const queues = {
  raw: `bench.${run}.raw`,
  nest: `bench.${run}.nest`,
  nestAck: `bench.${run}.nest-ack`,
  noAck: `bench.${run}.noack`,
  ours: `bench.${run}.ours`,
  plain: `bench.${run}.plain`,
  v2: `bench.${run}.v2`,
  noExpiry: `bench.${run}.no-expiry`,
  ackEach: `bench.${run}.ack-each`,
};
const PREFETCH = 50;

/** A module with one handler that echoes what `pattern` receives. */
function echoModule(pattern: string) {
  @Controller()
  class Echo {
    @MessagePattern(pattern)
    echo(@Payload() data: unknown) {
      return data;
    }
  }
  @Module({ controllers: [Echo] })
  class EchoModule {}
  return EchoModule;
}

/** Nest's built-in with noAck: false: the handler acks, as Nest's documentation shows. */
@Controller()
class NestAckingEcho {
  @MessagePattern('echo')
  echo(@Payload() data: unknown, @Ctx() ctx: RmqContext) {
    (ctx.getChannelRef() as amqp.Channel).ack(ctx.getMessage() as amqp.Message);
    return data;
  }
}
@Module({ controllers: [NestAckingEcho] })
class NestAckingEchoModule {}

/**
 * What a raw variant adds to the tutorial's properties (BENCH_RAW_PROPS=1), to price each of the
 * properties ours sends in broker CPU: `mandatory`, an explicit `deliveryMode`, a per-message
 * `expiration`, a one-entry headers table on requests (as `rpc-deadline`), and the reply's headers table.
 */
interface RawExtras {
  mandatory?: boolean;
  deliveryMode?: boolean;
  expiration?: boolean;
  headers?: boolean;
  /** The request queue declared with a queue-wide `x-message-ttl` (30 s) instead. */
  queueTtl?: boolean;
  /** Both connections' frames written with one syscall per turn, as ours does (`coalesceWrites`). */
  coalesced?: boolean;
}

/**
 * The raw baseline: the tutorial's RPC server (manual ack, same prefetch) and a direct reply-to client,
 * with TCP_NODELAY as our adapter sets it (amqplib's default, Nagle on, costs ~40 ms per lone request).
 */
async function rawPair(extra: RawExtras = {}, queue = queues.raw) {
  const serverConn = await amqp.connect(url, { noDelay: true });
  const sch = await serverConn.createChannel();
  await sch.assertQueue(queue, {
    durable: false,
    ...(extra.queueTtl ? { arguments: { 'x-message-ttl': 30_000 } } : {}),
  });
  await sch.prefetch(PREFETCH);
  await sch.consume(queue, (msg) => {
    if (!msg) return;
    const request = JSON.parse(msg.content.toString());
    sch.sendToQueue(msg.properties.replyTo, Buffer.from(JSON.stringify(request)), {
      correlationId: msg.properties.correlationId,
      contentType: 'application/json',
    });
    sch.ack(msg);
  });

  const clientConn = await amqp.connect(url, { noDelay: true });
  if (extra.coalesced) {
    coalesceWrites(serverConn);
    coalesceWrites(clientConn);
  }
  const cch = await clientConn.createChannel();
  const waiting = new Map<string, (msg: ConsumeMessage) => void>();
  await cch.consume(
    'amq.rabbitmq.reply-to',
    (msg) => {
      const resolve = msg && waiting.get(msg.properties.correlationId);
      if (!resolve) return;
      waiting.delete(msg!.properties.correlationId);
      resolve(msg!);
    },
    { noAck: true },
  );
  let seq = 0;
  const call = (payload: object) => () =>
    new Promise<unknown>((resolve) => {
      const correlationId = String(seq++);
      waiting.set(correlationId, (msg) => resolve(JSON.parse(msg.content.toString())));
      cch.sendToQueue(queue, Buffer.from(JSON.stringify(payload)), {
        correlationId,
        replyTo: 'amq.rabbitmq.reply-to',
        contentType: 'application/json',
        ...(extra.mandatory ? { mandatory: true } : {}),
        ...(extra.deliveryMode ? { deliveryMode: 1 } : {}),
        ...(extra.expiration ? { expiration: '30000' } : {}),
        ...(extra.headers ? { headers: { 'rpc-deadline': String(Date.now() + 30_000) } } : {}),
      });
    });
  const close = async () => {
    await sch.deleteQueue(queue);
    await serverConn.close();
    await clientConn.close();
  };
  return { call, close };
}

async function main() {
  measureBrokerCpu('rabbitmq');
  const raw = await rawPair();

  // Nest's built-in transport with its defaults (noAck consumption) and the same prefetch.
  const rmq = { urls: [url], queue: queues.nest, queueOptions: { durable: false }, prefetchCount: PREFETCH };
  const nestApp = await NestFactory.createMicroservice(echoModule('echo'), {
    transport: Transport.RMQ,
    options: rmq,
    logger: false,
  });
  await nestApp.listen();
  const nestClient = new ClientRMQ(rmq);
  await nestClient.connect();

  // TCP_NODELAY as ours sets it: with Nagle on, the handler's ack delays the reply by ~40 ms per lone request.
  const nestAckRmq = {
    ...rmq,
    queue: queues.nestAck,
    noAck: false,
    socketOptions: { connectionOptions: { noDelay: true } },
  };
  const nestAckApp = await NestFactory.createMicroservice(NestAckingEchoModule, {
    transport: Transport.RMQ,
    options: nestAckRmq,
    logger: false,
  });
  await nestAckApp.listen();
  // (the client keeps noAck: direct reply-to refuses acknowledging consumers)
  const nestAckClient = new ClientRMQ({ ...nestAckRmq, noAck: true });
  await nestAckClient.connect();

  const ours = async (module: object, server: object, pattern: string, client: object = {}) => {
    const app = await NestFactory.createMicroservice(module as never, {
      strategy: new RabbitRpcServer({ urls: [url], prefetch: PREFETCH, maxConcurrency: 256, ...server }),
      logger: false,
    });
    await app.listen();
    const c = new RabbitRpcClient({ urls: [url], ...client });
    await c.connect();
    const call = (payload: object) => () => firstValueFrom(c.send(pattern, payload));
    const close = async () => {
      await c.close();
      await app.close();
    };
    return { call, close };
  };
  const ourDefault = await ours(echoModule(queues.ours), {}, queues.ours);
  const ourNoAck = await ours(echoModule(queues.noAck), { noAck: true }, queues.noAck);
  // Classic queues v2 (RabbitMQ 3.10+): a different on-disk index and store, set per queue by argument.
  const ourV2 = await ours(
    echoModule(queues.v2),
    { queue: { arguments: { 'x-queue-version': 2 } } },
    queues.v2,
  );

  // Ours without write coalescing (one socket write per frame, as amqplib does by itself).
  const plain =
    process.env.BENCH_PLAIN === '1'
      ? await ours(echoModule(queues.plain), { coalesceWrites: false }, queues.plain, {
          coalesceWrites: false,
        })
      : undefined;
  const noExpiry =
    process.env.BENCH_NO_EXPIRY === '1'
      ? await ours(echoModule(queues.noExpiry), {}, queues.noExpiry, { timeout: 0 })
      : undefined;
  // One ack per request (batchAcks off), as the raw server does.
  const ackEach =
    process.env.BENCH_ACK_EACH === '1'
      ? await ours(echoModule(queues.ackEach), { batchAcks: false }, queues.ackEach)
      : undefined;
  const rawVariants: Array<[string, Awaited<ReturnType<typeof rawPair>>]> = [];
  if (process.env.BENCH_RAW_PROPS === '1') {
    const variants: Array<[string, RawExtras]> = [
      ['raw + mandatory', { mandatory: true }],
      ['raw + deliveryMode', { deliveryMode: true }],
      ['raw + expiration', { expiration: true }],
      ['raw + headers', { headers: true }],
      ['raw + all four', { mandatory: true, deliveryMode: true, expiration: true, headers: true }],
      ['raw + queue TTL', { queueTtl: true }],
      ['raw, coalesced', { coalesced: true }],
      [
        'raw, coalesced + all four',
        { coalesced: true, mandatory: true, deliveryMode: true, expiration: true, headers: true },
      ],
    ];
    for (const [name, extra] of variants)
      rawVariants.push([name, await rawPair(extra, `bench.${run}.${name.replace(/\W+/g, '-')}`)]);
  }
  const small = payloadOf(PAYLOAD_SIZES[0]);
  const contenders: Array<[string, () => Promise<unknown>]> = [
    ['raw amqplib', raw.call(small)],
    ['nest built-in', () => firstValueFrom(nestClient.send('echo', small))],
    ['nest, noAck: false, noDelay', () => firstValueFrom(nestAckClient.send('echo', small))],
    ['nestjs-broker-rpc', ourDefault.call(small)],
    ['ours, noAck', ourNoAck.call(small)],
    ['ours, classic v2', ourV2.call(small)],
  ];
  if (plain) contenders.push(['ours, coalesceWrites off', plain.call(small)]);
  if (noExpiry) contenders.push(['ours, no expiration', noExpiry.call(small)]);
  if (ackEach) contenders.push(['ours, one ack per request', ackEach.call(small)]);
  for (const [name, pair] of rawVariants) contenders.push([name, pair.call(small)]);
  const large = PAYLOAD_SIZES.slice(1);
  const largeContenders = (payload: object): Array<[string, () => Promise<unknown>]> => [
    ['raw amqplib', raw.call(payload)],
    ['nest built-in', () => firstValueFrom(nestClient.send('echo', payload))],
    ['nestjs-broker-rpc', ourDefault.call(payload)],
  ];
  planRuns(
    plannedRuns(contenders.length, CONCURRENCIES) + large.length * plannedRuns(3, LARGE_CONCURRENCIES),
  );
  const pairs: Array<[string, string, string]> = [
    ['nestjs-broker-rpc', 'raw amqplib', 'both acking'],
    ['nestjs-broker-rpc', 'nest built-in', 'each with its defaults'],
    ['nestjs-broker-rpc', 'nest, noAck: false, noDelay', 'both acking (at least once)'],
    ['ours, noAck', 'nest built-in', 'both noAck (at most once)'],
    ['ours, classic v2', 'nestjs-broker-rpc', 'classic queue v2 against v1'],
    ['ours, no expiration', 'nestjs-broker-rpc', 'without a per-message expiration'],
    ['ours, no expiration', 'raw amqplib', 'both acking, neither with an expiration'],
    ['nestjs-broker-rpc', 'ours, one ack per request', 'multiple acks against one per request'],
    ['raw + mandatory', 'raw amqplib', 'requests published mandatory'],
    ['raw + deliveryMode', 'raw amqplib', 'requests with an explicit deliveryMode 1'],
    ['raw + expiration', 'raw amqplib', 'requests with a per-message expiration'],
    ['raw + headers', 'raw amqplib', 'requests with a one-entry headers table'],
    ['raw + all four', 'raw amqplib', 'requests with all four'],
    ['raw + queue TTL', 'raw amqplib', 'a queue-wide message TTL'],
    ['raw, coalesced', 'raw amqplib', 'frames written once per turn'],
    ['raw, coalesced + all four', 'raw, coalesced', 'coalesced, requests with all four'],
    ['nestjs-broker-rpc', 'raw, coalesced + all four', 'the same frames and properties'],
  ];
  const sections: Section[] = [
    {
      title: `payload ${formatBytes(PAYLOAD_SIZES[0])}`,
      kind: 'concurrency',
      payloadBytes: PAYLOAD_SIZES[0],
      results: await compare(contenders, CONCURRENCIES, BENCH_ROUNDS, BENCH_MS, {
        section: formatBytes(PAYLOAD_SIZES[0]),
        payloadBytes: PAYLOAD_SIZES[0],
      }),
      pairs,
      ratiosAgainst: ['raw amqplib', 'nest built-in'],
    },
  ];
  for (const bytes of large) {
    sections.push({
      title: `payload ${formatBytes(bytes)}`,
      kind: 'payload',
      payloadBytes: bytes,
      results: await compare(largeContenders(payloadOf(bytes)), LARGE_CONCURRENCIES, BENCH_ROUNDS, BENCH_MS, {
        section: formatBytes(bytes),
        payloadBytes: bytes,
      }),
      pairs: pairs.slice(0, 2),
      ratiosAgainst: ['raw amqplib', 'nest built-in'],
    });
  }

  const at = (s: Section, c: number, name: string, base: string) =>
    pairRatios(s.results, [[name, base, '']]).find((p) => p.concurrency === c);
  const c64 = CONCURRENCIES.includes(64) ? 64 : CONCURRENCIES.at(-1)!;
  const first = sections[0]!;
  const targets: Target[] = [
    throughputTarget(
      `c=${c64}, 100 B: ours ≥ 1.1× raw amqplib, both acking`,
      at(first, c64, 'nestjs-broker-rpc', 'raw amqplib'),
      1.1,
    ),
    throughputTarget(
      `c=${c64}, 100 B: ours ≥ 1.5× Nest, each on defaults`,
      at(first, c64, 'nestjs-broker-rpc', 'nest built-in'),
      1.5,
    ),
    cpuTarget(
      `c=${c64}, 100 B: ours' broker CPU per request ≤ 0.8× raw amqplib's`,
      at(first, c64, 'nestjs-broker-rpc', 'raw amqplib'),
      0.8,
    ),
    {
      ...cpuTarget(
        `c=${c64}, 100 B: ours on classic queues v2, broker CPU per request against raw amqplib's`,
        at(first, c64, 'ours, classic v2', 'raw amqplib'),
        0.8,
      ),
      info: true,
    },
    ...sections.slice(1).map((s) => {
      const c = LARGE_CONCURRENCIES.at(-1)!;
      return throughputTarget(
        `c=${c}, ${s.title}: ours ≥ 0.9× raw MB/s`,
        at(s, c, 'nestjs-broker-rpc', 'raw amqplib'),
        0.9,
      );
    }),
  ];
  await finish({
    broker: 'rabbitmq',
    title: 'RabbitMQ',
    sections,
    targets,
    notes: [
      "Delivery guarantees differ by default: Nest's built-in consumes with `noAck` (at most once), ours acks after the reply (at least once), as does the raw amqplib server; the table also runs each with the other's guarantee. `ours, classic v2` is ours on defaults with its request queues declared with `queue: { arguments: { 'x-queue-version': 2 } }`; replies use direct reply-to (no queue) on every row.",
    ],
  });

  await ourDefault.close();
  await ourNoAck.close();
  await ourV2.close();
  await plain?.close();
  await noExpiry?.close();
  await ackEach?.close();
  for (const [, pair] of rawVariants) await pair.close();
  await nestClient.close();
  await nestApp.close();
  await nestAckClient.close();
  await nestAckApp.close();
  const cleanup = await amqp.connect(url);
  const ch = await cleanup.createChannel();
  for (const q of [
    queues.nest,
    queues.nestAck,
    queues.ours,
    queues.noAck,
    queues.plain,
    queues.v2,
    queues.noExpiry,
    queues.ackEach,
  ])
    await ch.deleteQueue(q).catch(() => undefined);
  await cleanup.close();
  await raw.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
