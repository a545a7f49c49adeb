import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcError } from '../../../lib/index.js';
import {
  RabbitRpcClient,
  type RabbitRpcContext,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { killAndRestartBroker } from '../support/restart-broker.js';
import { EventLog } from '../support/sync.js';

const prefix = `ev${randomUUID().slice(0, 8)}`;

/** An `@EventPattern(pattern)` handler that records each attempt (with its delivery count) and throws. */
function failingModule(pattern: string, log: EventLog) {
  @Controller()
  class Failing {
    @EventPattern(pattern)
    onEvent(@Payload() data: unknown, @Ctx() ctx: any): void {
      log.record('attempt', {
        data,
        deliveryCount: (ctx as RabbitRpcContext).getHeaders()['x-delivery-count'],
      });
      throw new Error('handler failed');
    }
  }
  @Module({ controllers: [Failing] })
  class FailingModule {}
  return FailingModule;
}

describe('RabbitMQ events', () => {
  let raw: ChannelModel;
  let ch: Channel;
  const queues = new Set<string>();
  const apps: INestMicroservice[] = [];
  const clients: RabbitRpcClient[] = [];

  async function openRaw() {
    raw = await amqp.connect(AMQP_URL);
    raw.on('error', () => undefined); // the broker kill below resets it
    ch = await raw.createChannel();
  }
  beforeAll(openRaw);
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(async () => {
    const conn = await amqp.connect(AMQP_URL);
    const cleanup = await conn.createChannel();
    for (const q of queues) await cleanup.deleteQueue(q).catch(() => undefined);
    await conn.close();
    await raw?.close().catch(() => undefined);
  });

  async function start(module: any, options: RabbitRpcServerOptions) {
    const server = new RabbitRpcServer({ urls: [AMQP_URL], ...options });
    const app = await NestFactory.createMicroservice(module, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return server;
  }
  async function client(options: Partial<ConstructorParameters<typeof RabbitRpcClient>[0]> = {}) {
    const c = new RabbitRpcClient({ urls: [AMQP_URL], ...options });
    clients.push(c);
    await c.connect();
    return c;
  }
  const emit = (c: RabbitRpcClient, pattern: string, data: unknown) =>
    lastValueFrom(c.emit(pattern, data), { defaultValue: undefined });

  async function deadLetters(dlq: string) {
    await ch.assertQueue(dlq, { durable: false });
    const dead: ConsumeMessage[] = [];
    const log = new EventLog();
    await ch.consume(dlq, (m) => m && (dead.push(m), log.record('dead', m.content.toString())), {
      noAck: true,
    });
    return { dead, log };
  }

  it('dead-letters a failed event when its queue has a dead-letter exchange', async () => {
    const pattern = `${prefix}.dlx.events`;
    const dlq = `${prefix}.dlx.dead`;
    queues.add(pattern).add(dlq);
    const attempts = new EventLog();
    const { dead, log } = await deadLetters(dlq);
    const server = await start(failingModule(pattern, attempts), {
      queue: { deadLetterExchange: '', deadLetterRoutingKey: dlq },
    });
    await emit(await client(), pattern, { n: 1 });
    await log.until('dead', 1);
    expect(JSON.parse(dead[0]!.content.toString())).toEqual({ n: 1 });
    expect(dead[0]!.properties.headers!['x-death']![0]!.reason).toBe('rejected');
    expect(attempts.count('attempt')).toBe(1); // a classic queue counts no deliveries: no retry
    expect(server.counters).toMatchObject({ eventsFailed: 1, eventsDeadLettered: 1, eventsRetried: 0 });
  });

  it('retries a failed event on a quorum queue as often as eventRetries, counted by the broker, then dead-letters it', async () => {
    const pattern = `${prefix}.quorum.events`;
    const dlq = `${prefix}.quorum.dead`;
    queues.add(pattern).add(dlq);
    const attempts = new EventLog();
    const { dead, log } = await deadLetters(dlq);
    const server = await start(failingModule(pattern, attempts), {
      eventRetries: 2,
      queue: { quorum: true, deadLetterExchange: '', deadLetterRoutingKey: dlq },
    });
    await emit(await client(), pattern, 'again');
    await log.until('dead', 1);
    expect(attempts.seen.map((a) => (a.data as { deliveryCount?: string }).deliveryCount)).toEqual([
      undefined,
      '1',
      '2',
    ]);
    expect(dead[0]!.content.toString()).toBe('again');
    expect(server.counters).toMatchObject({ eventsFailed: 3, eventsRetried: 2, eventsDeadLettered: 1 });
  });

  it('without a dead-letter exchange, acks a failed event, logs and counts it', async () => {
    const pattern = `${prefix}.plain.events`;
    queues.add(pattern);
    const attempts = new EventLog();
    const server = await start(failingModule(pattern, attempts), {});
    await emit(await client(), pattern, 7);
    await attempts.until('attempt', 1);
    await expect.poll(() => server.counters.eventsFailed).toBe(1);
    await expect.poll(async () => (await ch.checkQueue(pattern)).messageCount).toBe(0);
    expect(server.counters).toMatchObject({ eventsRetried: 0, eventsDeadLettered: 0 });
    expect(attempts.count('attempt')).toBe(1);
  });

  it('resolves emit() only once the broker has the event: persistent events survive a broker kill -9 right after', async () => {
    const queue = `${prefix}.durable.events`;
    queues.add(queue);
    await ch.assertQueue(queue, { durable: true });
    const c = await client({ persistent: true });
    const n = 2_000;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => emit(c, queue, i)));
    const resolved = results.filter((r) => r.status === 'fulfilled').length;
    const failed = results.filter((r) => r.status === 'rejected');
    await killAndRestartBroker('rabbitmq');

    const conn = await amqp.connect(AMQP_URL);
    const check = await conn.createChannel();
    const { messageCount } = await check.checkQueue(queue);
    await conn.close();
    console.log(
      `${n} persistent emits: ${resolved} resolved, ${failed.length} failed; ${messageCount} in the queue after kill -9`,
    );
    for (const f of failed) expect(RpcError.is((f as PromiseRejectedResult).reason)).toBe(true);
    expect(resolved).toBe(n);
    expect(messageCount).toBeGreaterThanOrEqual(resolved);
    await openRaw(); // the shared connection died with the broker
  }, 240_000);
});
