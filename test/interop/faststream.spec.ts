// Interop with REAL FastStream (Python; version pinned in test/interop/requirements.txt, installed by
// `bash scripts/interop-env.sh` into .brokers/py). For each broker: our client calls a FastStream
// subscriber, and a FastStream client calls our Nest server. See test/interop/faststream_app.py.
import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import amqp from 'amqplib';
import kafkajs from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder, RpcTimeoutError } from '../../lib/index.js';
import type { RpcClient } from '../../lib/core/rpc-client.js';
import type { RpcContext } from '../../lib/core/rpc-context.js';
import type { RpcServer } from '../../lib/core/rpc-server.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../lib/kafka/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../lib/nats/index.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { RabbitRpcClient, RabbitRpcServer } from '../../lib/rabbitmq/index.js';
import { AMQP_URL, KAFKA_BROKERS, NATS_URL } from '../integration/brokers.js';
import { FastStreamApp, venvPython } from './faststream-process.js';

const run = randomUUID().slice(0, 8);
// One set of names for all three brokers: each broker is its own namespace.
const prefix = `t-fs-${run}`;
/** Destination the FastStream subscriber serves (a Kafka topic, a RabbitMQ queue, a NATS subject). */
const fsDestination = `${prefix}.fs.sum`;
const nestPattern = `${prefix}.nest.sum`;

/** What our server read as the request's content type: a header (Kafka, NATS) or an AMQP property. */
function contentTypeOf(ctx: RpcContext): string | undefined {
  const amqpMessage = ctx.getMessage() as { properties?: { contentType?: string } } | undefined;
  return ctx.getHeaders()['content-type'] ?? amqpMessage?.properties?.contentType;
}

/**
 * A Nest controller answering `pattern`: a list of numbers with their sum, anything else with what our
 * server decoded it to (bytes as hex); both with what it read from the request.
 */
function sumController(pattern: string) {
  @Controller()
  class SumController {
    @MessagePattern(pattern)
    sum(@Payload() payload: unknown, @Ctx() ctx: RpcContext) {
      const seen = {
        correlationId: ctx.getCorrelationId(),
        replyTo: ctx.getReplyTo(),
        contentType: contentTypeOf(ctx),
      };
      if (Array.isArray(payload)) return { sum: payload.reduce((a: number, b: number) => a + b, 0), ...seen };
      if (payload && typeof payload === 'object' && 'fail' in payload)
        throw new RpcException({ code: payload.fail });
      if (Buffer.isBuffer(payload)) return { type: 'bytes', hex: payload.toString('hex'), ...seen };
      return { type: typeof payload, value: payload, ...seen };
    }
  }
  return SumController;
}

async function startNest(pattern: string, strategy: RpcServer<any>): Promise<INestMicroservice> {
  @Module({ controllers: [sumController(pattern)] })
  class InteropModule {}
  const app = await NestFactory.createMicroservice(InteropModule, { strategy, logger: false });
  await app.listen();
  return app;
}

interface Setup {
  /** Destination the FastStream subscriber serves. */
  fsDestination: string;
  /** Pattern our Nest server serves. */
  nestPattern: string;
  client: () => RpcClient<any>;
  fs: () => FastStreamApp;
  /** What our server sees as the FastStream client's reply address. */
  replyTo: (value: unknown) => void;
}

/** The two directions, the same on every broker. */
function interopTests(s: Setup) {
  it('our client calls a FastStream subscriber and gets its reply', async () => {
    const reply = await firstValueFrom(s.client().send(s.fsDestination, [1, 2, 3, 4, 5]));
    expect(reply).toEqual({ sum: 15, content_type: 'application/json', correlation_id: expect.any(String) });
    expect((reply as { correlation_id: string }).correlation_id).not.toBe('');
  });

  it('our client matches concurrent FastStream replies by correlation id', async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => firstValueFrom(s.client().send(s.fsDestination, [n, n, n]))),
    );
    expect(replies.map((r) => (r as { sum: number }).sum)).toEqual([3, 6, 9, 12, 15, 18, 21, 24]);
  });

  it('a FastStream client calls our Nest server and gets its reply', async () => {
    const correlationId = `fs-${randomUUID()}`;
    const res = await s.fs().request(s.nestPattern, [1, 2, 3, 4, 5], { correlationId });
    expect(res.reply).toEqual({
      sum: 15,
      correlationId,
      replyTo: expect.any(String),
      contentType: 'application/json',
    });
    s.replyTo((res.reply as { replyTo: string }).replyTo);
    expect(res.correlation_id).toBe(correlationId);
    expect(res.content_type).toBe('application/json');
  });

  it('FastStream decodes our strings, bytes, numbers and objects by their content type', async () => {
    const send = (body: unknown) => firstValueFrom(s.client().send(s.fsDestination, body));
    await expect(send('héllo')).resolves.toMatchObject({
      type: 'str',
      value: 'héllo',
      content_type: 'text/plain',
    });
    await expect(send(Buffer.from([0xff, 0x00, 0x01]))).resolves.toMatchObject({
      type: 'bytes',
      hex: 'ff0001',
      content_type: 'application/octet-stream',
    });
    await expect(send(42)).resolves.toMatchObject({
      type: 'int',
      value: 42,
      content_type: 'application/json',
    });
    await expect(send({ a: [1, null] })).resolves.toMatchObject({
      type: 'dict',
      value: { a: [1, null] },
      content_type: 'application/json',
    });
  });

  it("our server decodes a FastStream client's text, bytes, numbers and objects", async () => {
    const call = async (body: unknown) => (await s.fs().request(s.nestPattern, body)).reply;
    await expect(call('héllo')).resolves.toMatchObject({
      type: 'string',
      value: 'héllo',
      contentType: 'text/plain',
    });
    // FastStream sends bytes without a content type (an empty header on Kafka and NATS, no property on
    // AMQP): binary stays bytes, and bytes that parse as JSON are read as JSON (wire-protocol.md).
    await expect(call({ bytes: 'ff0001' })).resolves.toMatchObject({ type: 'bytes', hex: 'ff0001' });
    await expect(call({ bytes: Buffer.from('30').toString('hex') })).resolves.toMatchObject({
      type: 'number',
      value: 30,
    });
    await expect(call(42)).resolves.toMatchObject({
      type: 'number',
      value: 42,
      contentType: 'application/json',
    });
    await expect(call({ a: [1, null] })).resolves.toMatchObject({ type: 'object', value: { a: [1, null] } });
  });

  it('a FastStream client gets our error reply as a reply with the rpc-error header', async () => {
    const res = await s.fs().request(s.nestPattern, { fail: 'E_INTEROP' });
    expect(res.reply).toEqual({ code: 'E_INTEROP' });
    expect(res.headers['rpc-error']).toBe('exception');
    expect(res.content_type).toBe('application/json');
  });

  it('a FastStream client makes concurrent calls to our server', async () => {
    const replies = await Promise.all(
      [1, 2, 3, 4, 5, 6, 7, 8].map((n) => s.fs().request(s.nestPattern, [n, n])),
    );
    expect(replies.map((r) => (r.reply as { sum: number }).sum)).toEqual([2, 4, 6, 8, 10, 12, 14, 16]);
  });
}

interface Broker<C extends RpcClient<any>> {
  /** faststream_app.py's arguments: broker kind, URL, destination to serve, [Kafka reply topic]. */
  fsArgs: string[];
  server: () => RpcServer<any>;
  client: () => C;
  /** Runs before anything starts. */
  prepare?: () => Promise<void>;
  /** Runs once all three are up, before the tests. */
  warmUp?: (client: C) => Promise<void>;
  /** Runs after all three have stopped: removes what the run left on the broker. */
  cleanUp?: () => Promise<void>;
  replyTo: Setup['replyTo'];
}

/** Starts the FastStream app, our Nest server and our client around the interop tests, and stops them. */
function interopSuite<C extends RpcClient<any>>(b: Broker<C>) {
  let app: INestMicroservice | undefined;
  let client: C | undefined;
  let fs: FastStreamApp | undefined;

  beforeAll(async () => {
    venvPython();
    await b.prepare?.();
    fs = new FastStreamApp(b.fsArgs);
    app = await startNest(nestPattern, b.server());
    client = b.client();
    await client.connect();
    await fs.ready;
    await b.warmUp?.(client);
  });

  afterAll(async () => {
    await fs?.stop();
    await client?.close();
    await app?.close();
    await b.cleanUp?.();
  });

  interopTests({
    fsDestination,
    nestPattern,
    client: () => client!,
    fs: () => fs!,
    replyTo: b.replyTo,
  });
}

describe('FastStream interop', () => {
  beforeAll(() => {
    venvPython(); // fails every test below with "run bash scripts/interop-env.sh" when the venv is missing
  });

  describe('Kafka', () => {
    const fsReplies = `${prefix}.fs.replies`;
    const kafka = new kafkajs.Kafka({ brokers: KAFKA_BROKERS, logLevel: kafkajs.logLevel.NOTHING });

    interopSuite({
      fsArgs: ['kafka', KAFKA_BROKERS.join(','), fsDestination, fsReplies],
      // The FastStream side's topics: our client refuses a missing topic, and FastStream (aiokafka) does
      // not create them.
      prepare: async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          await admin.createTopics({
            topics: [
              { topic: fsDestination, numPartitions: 3 },
              { topic: fsReplies, numPartitions: 1 },
            ],
            waitForLeaders: true,
          });
        } finally {
          await admin.disconnect();
        }
      },
      server: () =>
        new KafkaRpcServer({
          client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-nest`, logLevel: 'nothing' },
          consumer: { groupId: `${prefix}-nest`, sessionTimeout: 6_000, heartbeatInterval: 500 },
          topics: { numPartitions: 1 },
        }),
      client: () =>
        new KafkaRpcClient({
          client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-client`, logLevel: 'nothing' },
          timeout: 20_000,
        }),
      // FastStream says it is ready before its consumer has joined its group: call until it answers.
      warmUp: async (client) => {
        for (let attempt = 1; ; attempt++) {
          const record = new RpcRecordBuilder([0]).setTimeout(5_000).build();
          const answered = await firstValueFrom(client.send(fsDestination, record)).then(
            () => true,
            (err) => {
              if (!(err instanceof RpcTimeoutError) || attempt >= 12) throw err;
              return false;
            },
          );
          if (answered) break;
        }
      },
      cleanUp: async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          const topics = (await admin.listTopics()).filter((t) => t.startsWith(prefix));
          if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
          const groups = (await admin.listGroups()).groups
            .map((g) => g.groupId)
            .filter((g) => g.startsWith(prefix));
          if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
        } finally {
          await admin.disconnect();
        }
      },
      replyTo: (r) => expect(r).toBe(fsReplies),
    });
  });

  describe('RabbitMQ', () => {
    interopSuite({
      fsArgs: ['rabbit', `${AMQP_URL}/`, fsDestination],
      server: () => new RabbitRpcServer({ urls: [AMQP_URL] }),
      client: () => new RabbitRpcClient({ urls: [AMQP_URL], timeout: 20_000 }),
      cleanUp: async () => {
        const conn = await amqp.connect(AMQP_URL);
        const ch = await conn.createChannel();
        for (const q of [fsDestination, nestPattern]) await ch.deleteQueue(q).catch(() => undefined);
        await conn.close();
      },
      // FastStream's request() uses direct reply-to.
      replyTo: (r) => expect(r).toMatch(/^amq\.rabbitmq\.reply-to/),
    });
  });

  describe('NATS', () => {
    interopSuite({
      fsArgs: ['nats', NATS_URL, fsDestination],
      server: () => new NatsRpcServer({ servers: NATS_URL, queue: 'interop' }),
      client: () => new NatsRpcClient({ servers: NATS_URL, timeout: 20_000 }),
      // FastStream's request() waits on a NATS inbox.
      replyTo: (r) => expect(r).toMatch(/^_INBOX\./),
    });
  });

  describe('NATS JetStream', () => {
    // FastStream's subscriber reads a stream of its own; our server serves through its stream.
    const fsStream = `FS_${run}`;
    const nestStream = `NEST_${run}`;
    interopSuite({
      fsArgs: ['nats-js', NATS_URL, fsDestination, fsStream, nestStream],
      server: () =>
        new NatsRpcServer({
          servers: NATS_URL,
          jetstream: { stream: nestStream, storage: 'memory', deadLetterSubject: false },
        }),
      client: () =>
        new NatsRpcClient({ servers: NATS_URL, timeout: 20_000, jetstream: { stream: fsStream } }),
      cleanUp: async () => {
        const nc = await connect({ servers: NATS_URL });
        const jsm = await jetstreamManager(nc);
        for (const name of [fsStream, nestStream]) await jsm.streams.delete(name).catch(() => undefined);
        await nc.close();
      },
      // FastStream's JetStream request() waits on a NATS inbox named in its reply_to header.
      replyTo: (r) => expect(r).toMatch(/^_INBOX\./),
    });
  });
});
