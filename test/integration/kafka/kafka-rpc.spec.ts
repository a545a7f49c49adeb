// Request/reply over a real Kafka broker: the ideas of Nest's sum-kafka e2e test (six payload shapes,
// events, DTOs, 100 concurrent) plus streams, errors, timeouts, per-call key/partition, raw kafkajs
// and FastStream-style interop, Nest ClientKafka callers, malformed messages, per-partition concurrency
// with prefix commits, and 10 000 concurrent requests.
import { Controller, type INestApplicationContext, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientKafka, ClientsModule, MessagePattern, Payload } from '@nestjs/microservices';
import type { Admin, Consumer, KafkaMessage, Producer } from 'kafkajs';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcConnectionError,
  RpcPayloadTooLargeError,
  RpcRecordBuilder,
  RpcRemoteError,
  RpcTimeoutError,
} from '../../../lib/index.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { transportConformance } from '../support/conformance.js';
import { EventLog, Gate } from '../support/sync.js';
import { Holds, kafkaController } from './app/kafka.controller.js';
import { cleanUp, eventually, rawKafka, startServer, uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('rpc');
const log = new EventLog();
const gate = new Gate();
const holds = new Holds();
const groupId = `${prefix}-math`;

describe('Kafka transport', () => {
  let app: INestMicroservice;
  let clientApp: INestApplicationContext;
  let client: KafkaRpcClient;
  let admin: Admin;
  let producer: Producer;

  beforeAll(async () => {
    app = await startServer(kafkaController(prefix, log, gate, holds), {
      groupId,
      topics: { numPartitions: 3 },
    });
    // The form: ClientsModule.register with customClass and options.
    @Module({
      imports: [
        ClientsModule.register([
          {
            name: 'BILLING',
            customClass: KafkaRpcClient,
            options: {
              client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gateway`, logLevel: 'nothing' },
              topics: { numPartitions: 3 },
            },
          },
        ]),
      ],
    })
    class ClientModule {}
    clientApp = await NestFactory.createApplicationContext(ClientModule, { logger: false });
    client = clientApp.get<KafkaRpcClient>('BILLING');
    await client.connect();
    const kafka = rawKafka(`${prefix}-raw`);
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
  });

  afterAll(async () => {
    gate.open();
    await clientApp?.close();
    await app?.close();
    await producer?.disconnect();
    await admin?.disconnect();
    await cleanUp(prefix);
  });

  let clients = 0;
  transportConformance({
    prefix,
    log,
    gate,
    client: () => client,
    newClient: (options) =>
      new KafkaRpcClient({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-other${clients++}`, logLevel: 'nothing' },
        ...options,
      }),
    bulk: { requestTimeoutMs: 80_000, testTimeoutMs: 90_000 },
    // A reply that comes after its caller stopped waiting is counted as foreign and dropped.
    lateReply: () => {
      const before = client.replyStats.foreign;
      return () => eventually(() => client.replyStats.foreign > before, 10_000, 'the late reply');
    },
  });

  describe('the six payload shapes of Nest sum-kafka', () => {
    it('a Kafka message with a key', async () => {
      const record = new RpcRecordBuilder({ numbers: [1, 2, 3, 4, 5] }).setKey('1').build();
      await expect(
        firstValueFrom(client.send(`${prefix}.math.sum.sync.kafka.message`, record)),
      ).resolves.toEqual({ sum: 15, key: '1' });
    });
    it('a Kafka(ish) message without key, only the value', async () => {
      const record = new RpcRecordBuilder({ numbers: [1, 2, 3, 4, 5] }).build();
      await expect(
        firstValueFrom(client.send(`${prefix}.math.sum.sync.without.key`, record)),
      ).resolves.toEqual({ sum: 15, key: null });
    });
    it('a plain object', async () => {
      await expect(
        firstValueFrom(client.send(`${prefix}.math.sum.sync.plain.object`, { numbers: [1, 2, 3, 4, 5] })),
      ).resolves.toBe(15);
    });
    it('an array', async () => {
      await expect(
        firstValueFrom(client.send(`${prefix}.math.sum.sync.array`, [1, 2, 3, 4, 5])),
      ).resolves.toBe(15);
    });
    it('a string', async () => {
      await expect(firstValueFrom(client.send(`${prefix}.math.sum.sync.string`, '1,2,3,4,5'))).resolves.toBe(
        15,
      );
    });
    it('a number', async () => {
      await expect(firstValueFrom(client.send(`${prefix}.math.sum.sync.number`, 12345))).resolves.toBe(15);
    });
  });

  describe('DTOs and concurrency (Nest sum-kafka)', () => {
    const user = { email: 'enriquebenavidesm@gmail.com', name: 'Ben', phone: '1112223331', years: 33 };

    it('creates a user and a business from validated DTOs', async () => {
      await expect(firstValueFrom(client.send(`${prefix}.user.create`, user))).resolves.toEqual({
        kind: 'user',
        ...user,
      });
      const business = { name: 'Example', phone: '2233441122', user };
      await expect(firstValueFrom(client.send(`${prefix}.business.create`, business))).resolves.toEqual({
        kind: 'business',
        name: 'Example',
        owner: { kind: 'user', ...user },
      });
    });

    it('rejects an invalid DTO with a typed remote error', async () => {
      const err = await firstValueFrom(
        client.send(`${prefix}.user.create`, { ...user, email: 'nope', years: -1 }),
      ).catch((e) => e);
      expect(err).toBeInstanceOf(RpcRemoteError);
      expect(err.error).toEqual({ code: 'E_VALIDATION', fields: ['email', 'years'] });
    });

    it('answers 100 concurrent create-user requests, each with its own entity', async () => {
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) =>
          firstValueFrom(client.send(`${prefix}.user.create`, { ...user, name: `${user.name}+${i}` })),
        ),
      );
      expect(results.map((r) => r.name)).toEqual(Array.from({ length: 100 }, (_, i) => `Ben+${i}`));
    });
  });

  describe('events', () => {
    it('runs a @MessagePattern handler without replying when the message has no reply_to', async () => {
      await producer.send({ topic: `${prefix}.record`, messages: [{ value: JSON.stringify({ raw: 1 }) }] });
      await log.until('record');
      expect(log.seen.find((e: { pattern: string; data: unknown }) => e.pattern === 'record')?.data).toEqual({
        raw: 1,
      });
    });
  });

  describe('replies', () => {
    it('passes request headers to the handler and returns reply headers on request', async () => {
      const record = new RpcRecordBuilder({}).setHeaders({ 'x-tenant': 'a' }).withReplyHeaders().build();
      const reply = await firstValueFrom(client.send(`${prefix}.headers`, record));
      expect(reply.data).toEqual({ tenant: 'a', topic: `${prefix}.headers` });
      expect(reply.headers['x-served-by']).toBe('kafka');
      expect(reply.headers['correlation_id']).toEqual(expect.any(String));
    });

    it('sets the message key and partition per call', async () => {
      const onTwo = await firstValueFrom(
        client.send(`${prefix}.where`, new RpcRecordBuilder({}).setPartition(2).build()),
      );
      expect(onTwo).toMatchObject({ partition: 2, key: null });
      const keyed = await Promise.all(
        [1, 2, 3].map(() =>
          firstValueFrom(
            client.send(`${prefix}.where`, new RpcRecordBuilder({}).setKey('tenant-42').build()),
          ),
        ),
      );
      expect(new Set(keyed.map((r) => r.partition)).size).toBe(1); // one key, one partition
      expect(keyed[0]!.key).toBe('tenant-42');
    });
  });

  describe('failures', () => {
    it('times out with RpcTimeoutError when the topic exists but no server consumes it', async () => {
      await admin.createTopics({ topics: [{ topic: `${prefix}.idle`, numPartitions: 1 }] });
      const err = await firstValueFrom(
        client.send(`${prefix}.idle`, new RpcRecordBuilder(1).setTimeout(300).build()),
      ).catch((e) => e);
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect(err.timeoutMs).toBe(300);
      expect(err.elapsedMs).toBeGreaterThanOrEqual(300);
    });

    it('connect() positions the reply consumer at the end: old replies are skipped, the first new one is not', async () => {
      // Replies another instance left in the shared reply topic.
      const shared = `${prefix}-late.replies`;
      await admin.createTopics({ topics: [{ topic: shared, numPartitions: 2 }] });
      await producer.send({
        topic: shared,
        messages: Array.from({ length: 50 }, (_, i) => ({
          value: 'old',
          headers: { correlation_id: `old-${i}` },
        })),
      });
      const late = new KafkaRpcClient({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-late`, logLevel: 'nothing' },
        replyTopic: shared,
      });
      try {
        // Sent before connect(): it goes out the moment connect() resolves, so its reply follows at once.
        const reply = firstValueFrom(late.send(`${prefix}.math.sum.sync.array`, [20, 22]));
        await expect(reply).resolves.toBe(42);
        expect(late.replyStats).toEqual({ received: 1, foreign: 0 });
      } finally {
        await late.close();
      }
    });

    it('refuses an oversized request with RpcPayloadTooLargeError and answers an oversized reply with a too-large error', async () => {
      const big = 'x'.repeat(1_200_000);
      const err = await firstValueFrom(client.send(`${prefix}.echo`, big)).catch((e) => e);
      expect(err).toBeInstanceOf(RpcPayloadTooLargeError);
      expect(err.limit).toBeGreaterThan(1_000_000);
      const tooLarge = await firstValueFrom(client.send(`${prefix}.big`, 1_200_000)).catch((e) => e);
      expect(tooLarge).toBeInstanceOf(RpcRemoteError);
      expect(tooLarge.kind).toBe('too-large');
      await expect(firstValueFrom(client.send(`${prefix}.big`, 3))).resolves.toBe('xxx');
    });

    it('fails listen() with a clear error when a request topic is missing and creation is disabled', async () => {
      const strategy = new KafkaRpcServer({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-nocreate`, logLevel: 'nothing' },
        topics: { create: false },
      });
      strategy.addHandler(`${prefix}.not-there`, async () => 1);
      const err = await new Promise<unknown>((resolve) => strategy.listen((e) => resolve(e)));
      expect(err).toBeInstanceOf(RpcConnectionError);
      expect((err as Error).message).toContain(
        `"${prefix}.not-there" does not exist and topic creation is disabled`,
      );
      await strategy.close();
    });
  });

  describe('topic creation refused by the broker', () => {
    it('fails listen() with an error naming the topic and the broker’s reason', async () => {
      // A one-node cluster refuses replication factor 3, as it would refuse a client without the ACL.
      const strategy = new KafkaRpcServer({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-refused`, logLevel: 'nothing' },
        topics: { replicationFactor: 3 },
      });
      strategy.addHandler(`${prefix}.refused`, async () => 1);
      const err = await new Promise<unknown>((resolve) => strategy.listen((e) => resolve(e)));
      expect(err).toBeInstanceOf(RpcConnectionError);
      expect((err as Error).message).toContain(
        `Kafka topic "${prefix}.refused" does not exist and could not be created`,
      );
      // the broker's reason, in the driver's words
      expect((err as Error).message).toMatch(new RegExp(`${prefix}\\.refused: [^;]*[Rr]eplication`));
      await strategy.close();
      expect(await admin.listTopics()).not.toContain(`${prefix}.refused`);
    });
  });

  describe('per-partition concurrency and commits', () => {
    const committed = async (partition: number) => {
      const [entry] = await admin.fetchOffsets({ groupId, topics: [`${prefix}.hold`] });
      return Number(entry?.partitions.find((p) => p.partition === partition)?.offset ?? -1);
    };

    it('runs requests of one partition concurrently and commits only the finished prefix', async () => {
      const send = (id: string) =>
        firstValueFrom(client.send(`${prefix}.hold`, new RpcRecordBuilder(id).setPartition(1).build()));
      const slow = send('slow');
      await holds.started('slow');
      const slowOffset = Number(
        (
          log.seen.find(
            (e: { pattern: string; data: unknown }) => e.pattern === 'hold' && (e.data as any).id === 'slow',
          )!.data as any
        ).offset,
      );
      // Later requests of the same partition are answered while the first one still runs.
      const fast = ['f1', 'f2', 'f3'];
      for (const id of fast) holds.release(id);
      await expect(Promise.all(fast.map(send))).resolves.toEqual(fast);
      // Commits cover every partition at once: once a later request on partition 0 is committed, any
      // commit the finished fast requests could cause has been made. Still nothing past the running one.
      holds.release('probe');
      await firstValueFrom(
        client.send(`${prefix}.hold`, new RpcRecordBuilder('probe').setPartition(0).build()),
      );
      const probe = log.seen.find(
        (e: { pattern: string; data: any }) => e.pattern === 'hold' && e.data.id === 'probe',
      )!;
      await eventually(
        async () => (await committed(0)) > Number((probe.data as any).offset),
        10_000,
        'the probe commit',
      );
      expect(await committed(1)).toBeLessThanOrEqual(slowOffset);
      holds.release('slow');
      await expect(slow).resolves.toBe('slow');
      await eventually(
        async () => (await committed(1)) === slowOffset + fast.length + 1,
        10_000,
        'the commit after the slow request',
      );
    });

    it('answers a malformed request with a bad-request error when it has reply_to, without stalling the partition', async () => {
      const replies = rawKafka(`${prefix}-raw-bad`).consumer({
        groupId: `${prefix}-raw-bad`,
        maxWaitTimeInMs: 50,
      });
      const replyTopic = `${prefix}.raw.bad.replies`;
      await admin.createTopics({ topics: [{ topic: replyTopic, numPartitions: 1 }] });
      const got = await readOne(replies, replyTopic, async () => {
        await producer.send({
          topic: `${prefix}.math.sum.sync.array`,
          messages: [
            {
              partition: 0,
              value: '{not json',
              headers: { 'content-type': 'application/json', correlation_id: 'bad-1', reply_to: replyTopic },
            },
          ],
        });
      });
      expect(got.headers?.['rpc-error']?.toString()).toBe('bad-request');
      expect(got.headers?.['correlation_id']?.toString()).toBe('bad-1');
      expect(JSON.parse(got.value!.toString()).message).toMatch(/not valid JSON/);
      await expect(
        firstValueFrom(
          client.send(`${prefix}.math.sum.sync.array`, new RpcRecordBuilder([2, 2]).setPartition(0).build()),
        ),
      ).resolves.toBe(4);
    });

    it('skips (and commits) a malformed message without reply_to, without stalling the partition', async () => {
      const topic = `${prefix}.math.sum.sync.array`;
      const [meta] = await producer.send({
        topic,
        messages: [{ partition: 2, value: '{not json', headers: { 'content-type': 'application/json' } }],
      });
      const malformedOffset = Number(meta!.baseOffset ?? meta!.offset);
      await expect(
        firstValueFrom(client.send(topic, new RpcRecordBuilder([3, 3]).setPartition(2).build())),
      ).resolves.toBe(6);
      await eventually(
        async () => {
          const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
          return Number(entry!.partitions.find((p) => p.partition === 2)!.offset) > malformedOffset;
        },
        10_000,
        'the commit past the malformed message',
      );
    });
  });

  describe('back-pressure', () => {
    it('pauses a partition holding maxInFlightPerPartition unfinished requests, and resumes it', async () => {
      const topic = `${prefix}.paused.hold`;
      @Controller()
      class PausedController {
        @MessagePattern(topic)
        async hold(@Payload() id: string) {
          log.record('paused', id);
          await holds.hold(`paused-${id}`);
          return id;
        }
        @MessagePattern(`${prefix}.paused.probe`)
        probe() {
          return 'probe';
        }
      }
      const small = await startServer([PausedController], {
        groupId: `${prefix}-paused`,
        maxInFlightPerPartition: 2,
        topics: { numPartitions: 1 },
      });
      try {
        const send = (id: string) => firstValueFrom(client.send(topic, id));
        const held = [send('h1'), send('h2')];
        await Promise.all([holds.started('paused-h1'), holds.started('paused-h2')]);
        for (const id of ['f1', 'f2', 'f3']) holds.release(`paused-${id}`);
        const fast = ['f1', 'f2', 'f3'].map(send);
        // The same server fetches the probe's topic; had the paused partition been fetched with it,
        // the fast requests would have started before the probe's reply came back.
        await expect(firstValueFrom(client.send(`${prefix}.paused.probe`, {}))).resolves.toBe('probe');
        expect(log.seen.filter((e) => e.pattern === 'paused').map((e) => e.data)).toEqual(['h1', 'h2']);
        holds.release('paused-h1');
        holds.release('paused-h2');
        await expect(Promise.all([...held, ...fast])).resolves.toEqual(['h1', 'h2', 'f1', 'f2', 'f3']);
      } finally {
        await small.close();
      }
    });
  });

  describe('interop', () => {
    it('answers a raw kafkajs request carrying correlation_id / reply_to, on the caller’s own topic', async () => {
      const replyTopic = `${prefix}.raw.replies`;
      await admin.createTopics({ topics: [{ topic: replyTopic, numPartitions: 1 }] });
      const consumer = rawKafka(`${prefix}-raw-reader`).consumer({
        groupId: `${prefix}-raw-reader`,
        maxWaitTimeInMs: 50,
      });
      const reply = await readOne(consumer, replyTopic, async () => {
        await producer.send({
          topic: `${prefix}.math.sum.sync.array`,
          messages: [
            {
              value: JSON.stringify([4, 5]),
              headers: { correlation_id: 'raw-1', reply_to: replyTopic, 'content-type': 'application/json' },
            },
          ],
        });
      });
      expect(reply.value?.toString()).toBe('9');
      expect(reply.headers?.['correlation_id']?.toString()).toBe('raw-1');
      expect(reply.headers?.['content-type']?.toString()).toBe('application/json');
    });

    it('keeps the replies of one stream on one partition of a multi-partition reply topic, so they stay in order', async () => {
      const replyTopic = `${prefix}.raw.stream.replies`;
      await admin.createTopics({ topics: [{ topic: replyTopic, numPartitions: 3 }] });
      await producer.send({
        topic: `${prefix}.stream`,
        messages: [
          {
            value: JSON.stringify(Array.from({ length: 20 }, (_, i) => i)),
            headers: {
              correlation_id: 'raw-stream',
              reply_to: replyTopic,
              'content-type': 'application/json',
            },
          },
        ],
      });
      const perPartition = async () =>
        (await admin.fetchTopicOffsets(replyTopic)).map((p) => Number(p.high) - Number(p.low));
      await eventually(
        async () => (await perPartition()).reduce((a, b) => a + b, 0) === 20,
        15_000,
        'the replies',
      );
      expect((await perPartition()).filter((n) => n > 0)).toEqual([20]);
    });

    it('receives replies from a raw (FastStream-style) server that replies without a partition', async () => {
      const topic = `${prefix}.faststream.echo`;
      await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] });
      const kafka = rawKafka(`${prefix}-fs`);
      const fsProducer = kafka.producer({ allowAutoTopicCreation: false });
      await fsProducer.connect();
      const fsConsumer = kafka.consumer({ groupId: `${prefix}-fs`, maxWaitTimeInMs: 50 });
      await fsConsumer.connect();
      await fsConsumer.subscribe({ topic, fromBeginning: true });
      const partitionsUsed = new Set<number>();
      await fsConsumer.run({
        eachMessage: async ({ message }) => {
          const h = message.headers!;
          // No partition and no key: the producer's partitioner spreads replies over the reply topic.
          const [meta] = await fsProducer.send({
            topic: h['reply_to']!.toString(),
            messages: [
              {
                value: message.value,
                headers: { correlation_id: h['correlation_id']!, 'content-type': 'application/json' },
              },
            ],
          });
          partitionsUsed.add(meta!.partition);
        },
      });
      try {
        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => firstValueFrom(client.send(topic, { i }))),
        );
        expect(results).toEqual(Array.from({ length: 30 }, (_, i) => ({ i })));
        expect(partitionsUsed.size).toBeGreaterThan(1); // the replies really landed on several partitions
      } finally {
        await fsConsumer.disconnect();
        await fsProducer.disconnect();
      }
    });

    it('serves an unchanged Nest ClientKafka caller (kafka_correlationId / kafka_replyTopic / kafka_replyPartition)', async () => {
      const patterns = [`${prefix}.math.sum.sync.array`, `${prefix}.rpc-exception`, `${prefix}.stream`];
      await admin.createTopics({ topics: patterns.map((p) => ({ topic: `${p}.reply`, numPartitions: 2 })) });
      const nest = new ClientKafka({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-nest`, logLevel: 0 },
        consumer: { groupId: `${prefix}-nest`, maxWaitTimeInMs: 50 },
        subscribe: { fromBeginning: true }, // fresh reply topics; avoids Nest's own first-fetch race
      });
      (nest as any).logger = { log() {}, error() {}, warn() {}, debug() {}, verbose() {} };
      for (const p of patterns) nest.subscribeToResponseOf(p);
      await nest.connect();
      try {
        // Nest's Kafka parser turns a plain "9" into the string "9", as it does with its own server.
        await expect(firstValueFrom(nest.send(patterns[0]!, [4, 5]))).resolves.toBe('9');
        const err = await firstValueFrom(nest.send(patterns[1]!, {})).catch((e) => e);
        expect(err).toEqual({ code: 'E_LIMIT', message: 'limit reached' });
        await expect(lastValueFrom(nest.send(patterns[2]!, [1, 2, 3]).pipe(toArray()))).resolves.toEqual([
          '1',
          '2',
          '3',
        ]);
      } finally {
        await nest.close();
      }
    });
  });
});

/** Subscribes a raw consumer to `topic`, runs `trigger`, and resolves with the first message read. */
async function readOne(
  consumer: Consumer,
  topic: string,
  trigger: () => Promise<void>,
): Promise<KafkaMessage> {
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let resolve!: (m: KafkaMessage) => void;
  const first = new Promise<KafkaMessage>((r) => (resolve = r));
  await consumer.run({ eachMessage: async ({ message }) => resolve(message) });
  try {
    await trigger();
    return await first;
  } finally {
    await consumer.disconnect();
  }
}
