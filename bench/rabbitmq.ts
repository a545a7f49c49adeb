// RabbitMQ request/reply: raw amqplib with direct reply-to, Nest's built-in RMQ transport and ours, in
// one process, on one broker, at concurrency 1 and 64, with a small JSON payload. Each side runs with its
// defaults (Nest: noAck, at most once; ours: ack after the reply, at least once) and with the other's
// delivery guarantee (Nest with noAck: false acking in the handler, as its docs show; ours with noAck),
// so ratios can be read like for like. BENCH_PLAIN=1 adds ours with coalesceWrites off.
// Run: npm run bench:rabbitmq   (= node --import ./scripts/register-ts.mjs bench/rabbitmq.ts)
//      BENCH_MS=5000 per measurement, BENCH_ROUNDS=3 (median round reported),
//      AMQP_URL (default amqp://guest:guest@127.0.0.1:5672); the broker from `bash scripts/brokers.sh up rabbitmq`.
import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientRMQ, Ctx, MessagePattern, Payload, RmqContext, Transport } from '@nestjs/microservices';
import amqp, { type ConsumeMessage } from 'amqplib';
import { randomBytes } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { RabbitRpcClient, RabbitRpcServer } from '../lib/rabbitmq/index.js';
import { BROKERS, compare, measureBrokerCpu, printPairs, printTable } from './harness.js';

const url = process.env.AMQP_URL ?? BROKERS.AMQP_URL;
const payload = { id: 42, name: 'bench', items: [1, 2, 3] };
const run = randomBytes(4).toString('hex');
const queues = {
  raw: `bench.${run}.raw`,
  nest: `bench.${run}.nest`,
  nestAck: `bench.${run}.nest-ack`,
  noAck: `bench.${run}.noack`,
  ours: `bench.${run}.ours`,
  plain: `bench.${run}.plain`,
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
 * The raw baseline: the tutorial's RPC server (manual ack, same prefetch) and a direct reply-to client,
 * with TCP_NODELAY as our adapter sets it (amqplib's default, Nagle on, costs ~40 ms per lone request).
 */
async function rawPair() {
  const serverConn = await amqp.connect(url, { noDelay: true });
  const sch = await serverConn.createChannel();
  await sch.assertQueue(queues.raw, { durable: false });
  await sch.prefetch(PREFETCH);
  await sch.consume(queues.raw, (msg) => {
    if (!msg) return;
    const request = JSON.parse(msg.content.toString());
    sch.sendToQueue(msg.properties.replyTo, Buffer.from(JSON.stringify(request)), {
      correlationId: msg.properties.correlationId,
      contentType: 'application/json',
    });
    sch.ack(msg);
  });

  const clientConn = await amqp.connect(url, { noDelay: true });
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
  const call = () =>
    new Promise<unknown>((resolve) => {
      const correlationId = String(seq++);
      waiting.set(correlationId, (msg) => resolve(JSON.parse(msg.content.toString())));
      cch.sendToQueue(queues.raw, Buffer.from(JSON.stringify(payload)), {
        correlationId,
        replyTo: 'amq.rabbitmq.reply-to',
        contentType: 'application/json',
      });
    });
  const close = async () => {
    await sch.deleteQueue(queues.raw);
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
    const call = () => firstValueFrom(c.send(pattern, payload));
    const close = async () => {
      await c.close();
      await app.close();
    };
    return { call, close };
  };
  const ourDefault = await ours(echoModule(queues.ours), {}, queues.ours);
  const ourNoAck = await ours(echoModule(queues.noAck), { noAck: true }, queues.noAck);

  const contenders: Array<[string, () => Promise<unknown>]> = [
    ['raw amqplib', raw.call],
    ['nest built-in', () => firstValueFrom(nestClient.send('echo', payload))],
    ['nest, noAck: false, noDelay', () => firstValueFrom(nestAckClient.send('echo', payload))],
    ['nestjs-broker-rpc', ourDefault.call],
    ['ours, noAck', ourNoAck.call],
  ];
  // Ours without write coalescing (one socket write per frame, as amqplib does by itself).
  const plain =
    process.env.BENCH_PLAIN === '1'
      ? await ours(echoModule(queues.plain), { coalesceWrites: false }, queues.plain, {
          coalesceWrites: false,
        })
      : undefined;
  if (plain) contenders.push(['ours, coalesceWrites off', plain.call]);
  const results = await compare(contenders);
  printTable(results, ['raw amqplib', 'nest built-in']);
  printPairs(results, [
    ['nestjs-broker-rpc', 'nest built-in', 'each with its defaults'],
    ['nestjs-broker-rpc', 'nest, noAck: false, noDelay', 'both acking (at least once)'],
    ['ours, noAck', 'nest built-in', 'both noAck (at most once)'],
  ]);

  await ourDefault.close();
  await ourNoAck.close();
  await plain?.close();
  await nestClient.close();
  await nestApp.close();
  await nestAckClient.close();
  await nestAckApp.close();
  const cleanup = await amqp.connect(url);
  const ch = await cleanup.createChannel();
  for (const q of [queues.nest, queues.nestAck, queues.ours, queues.noAck, queues.plain])
    await ch.deleteQueue(q).catch(() => undefined);
  await cleanup.close();
  await raw.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
