import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, Payload } from '@nestjs/microservices';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  KafkaRpcClient,
  type KafkaRpcContext,
  KafkaRpcServer,
  type KafkaRpcServerOptions,
} from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { EventLog } from '../support/sync.js';
import { cleanUp, rawKafka, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('events');

/** An `@EventPattern(pattern)` handler that records each attempt (with its retry header) and throws. */
function failingModule(pattern: string, log: EventLog) {
  @Controller()
  class Failing {
    @EventPattern(pattern)
    onEvent(@Payload() data: unknown, @Ctx() ctx: any): void {
      log.record('attempt', { data, retryCount: (ctx as KafkaRpcContext).getHeaders()['rpc-retry-count'] });
      throw new Error('handler failed');
    }
  }
  @Module({ controllers: [Failing] })
  class FailingModule {}
  return FailingModule;
}

describe('Kafka events', () => {
  const apps: INestMicroservice[] = [];
  const clients: KafkaRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });
  afterAll(() => cleanUp(prefix));

  async function start(module: any, name: string, options: Partial<KafkaRpcServerOptions>) {
    const server = new KafkaRpcServer({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-${name}`, logLevel: 'nothing' },
      consumer: { groupId: `${prefix}-${name}`, sessionTimeout: 6_000, heartbeatInterval: 500 },
      topics: { numPartitions: 1 },
      ...options,
    });
    const app = await NestFactory.createMicroservice(module, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return server;
  }
  async function emit(pattern: string, data: unknown) {
    const c = new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-caller`, logLevel: 'nothing' },
    });
    clients.push(c);
    await c.connect();
    await lastValueFrom(c.emit(pattern, data), { defaultValue: undefined });
  }
  async function committed(group: string, topic: string): Promise<string[]> {
    const admin = rawKafka('inspect').admin();
    await admin.connect();
    try {
      const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return entry!.partitions.map((p) => p.offset);
    } finally {
      await admin.disconnect();
    }
  }

  it('retries a failed event eventRetries times with rpc-retry-count, then sends it to the dead-letter topic', async () => {
    const pattern = `${prefix}.retry`;
    const dlt = `${prefix}.retry.dead`;
    const attempts = new EventLog();
    const server = await start(failingModule(pattern, attempts), 'retry', {
      eventRetries: 2,
      deadLetterTopic: dlt,
    });
    const dead = new EventLog();
    const consumer = rawKafka('dlt-reader').consumer({ groupId: `${prefix}-dlt-reader` });
    await consumer.connect();
    await consumer.subscribe({ topic: dlt, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) =>
        dead.record('dead', {
          value: message.value!.toString(),
          retryCount: message.headers!['rpc-retry-count']!.toString(),
        }),
    });
    try {
      await emit(pattern, { order: 9 });
      await dead.until('dead', 1);
    } finally {
      await consumer.disconnect();
    }
    expect(attempts.seen.map((a) => (a.data as { retryCount?: string }).retryCount)).toEqual([
      undefined,
      '1',
      '2',
    ]);
    expect(dead.seen[0]!.data).toEqual({ value: JSON.stringify({ order: 9 }), retryCount: '3' });
    expect(server.counters).toMatchObject({ eventsFailed: 3, eventsRetried: 2, eventsDeadLettered: 1 });
    // the original and both retries are committed: nothing is redelivered
    await expect.poll(() => committed(`${prefix}-retry`, pattern)).toEqual(['3']);
  }, 60_000);

  it('without retries or a dead-letter topic, logs and counts a failed event and commits it', async () => {
    const pattern = `${prefix}.plain`;
    const attempts = new EventLog();
    const server = await start(failingModule(pattern, attempts), 'plain', {});
    await emit(pattern, 1);
    await attempts.until('attempt', 1);
    await expect.poll(() => server.counters.eventsFailed).toBe(1);
    await expect.poll(() => committed(`${prefix}-plain`, pattern)).toEqual(['1']);
    expect(server.counters).toMatchObject({ eventsRetried: 0, eventsDeadLettered: 0 });
    expect(attempts.count('attempt')).toBe(1);
  }, 60_000);
});
