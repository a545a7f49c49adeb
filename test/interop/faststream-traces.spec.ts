// Trace interop with REAL FastStream and its TelemetryMiddleware (OpenTelemetry Python SDK; versions in
// test/interop/requirements.txt), over each real broker (NATS core and JetStream, RabbitMQ, Kafka): a
// trace started by a FastStream client goes on in our server, and a trace started by our client goes on
// in a FastStream subscriber. Our side uses the real OpenTelemetry JS SDK with an in-memory exporter;
// FastStream's spans come back as JSON lines from test/interop/faststream_app.py (`--telemetry`).
import 'reflect-metadata';
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import amqp from 'amqplib';
import kafkajs from 'kafkajs';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder, RpcTimeoutError, type TelemetryOptions } from '../../lib/index.js';
import type { RpcClient } from '../../lib/core/rpc-client.js';
import type { RpcServer } from '../../lib/core/rpc-server.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../lib/kafka/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../lib/nats/index.js';
import { RabbitRpcClient, RabbitRpcServer } from '../../lib/rabbitmq/index.js';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { AMQP_URL, KAFKA_BROKERS, NATS_URL } from '../integration/brokers.js';
import { FastStreamApp, type FastStreamSpan, venvPython } from './faststream-process.js';

const run = randomUUID().slice(0, 8);
const prefix = `t-fstrace-${run}`;
/** Destination the FastStream subscriber serves; pattern our Nest server serves. */
const fsDestination = `${prefix}.fs.sum`;
const nestPattern = `${prefix}.nest.sum`;
const CONVERSATION = 'messaging.message.conversation_id';

const exporter = new InMemorySpanExporter();

@Controller()
class SumController {
  @MessagePattern(nestPattern)
  sum(@Payload() payload: number[]) {
    return payload.reduce((a, b) => a + b, 0);
  }
}

interface Broker<C extends RpcClient<any>> {
  /** faststream_app.py's arguments: broker kind, URL, destination to serve, [Kafka reply topic]. */
  fsArgs: string[];
  /** FastStream's span name for a destination (`{name} publish`, `{name} process`). */
  fsName: (destination: string) => string;
  server: () => RpcServer<any>;
  client: (telemetry?: TelemetryOptions) => C;
  prepare?: () => Promise<void>;
  warmUp?: (client: C) => Promise<void>;
  cleanUp?: () => Promise<void>;
}

/** Our span of `name` for this conversation, once it ended (a server span ends after its reply is out). */
async function ourSpan(name: string, conversationId: string): Promise<ReadableSpan> {
  const find = () =>
    exporter.getFinishedSpans().find((s) => s.name === name && s.attributes[CONVERSATION] === conversationId);
  await expect.poll(find, { message: `our span ${name} (conversation ${conversationId})` }).toBeDefined();
  return find()!;
}

/** Our send span to the FastStream subscriber in the trace of `traceId`, once it ended. */
async function ourSendSpan(traceId: string): Promise<ReadableSpan> {
  const find = () =>
    exporter
      .getFinishedSpans()
      .find((s) => s.name === `send ${fsDestination}` && s.spanContext().traceId === traceId);
  await expect.poll(find, { message: `our span send ${fsDestination} in trace ${traceId}` }).toBeDefined();
  return find()!;
}

function traceSuite<C extends RpcClient<any>>(b: Broker<C>) {
  let app: INestMicroservice | undefined;
  const clients: C[] = [];
  let client: C;
  let fs: FastStreamApp | undefined;

  /** FastStream's span of `name` for this conversation (it reports each span as it ends). */
  const fsSpan = (name: string, conversationId: string): Promise<FastStreamSpan> =>
    fs!.span((s) => s.name === name && s.attributes[CONVERSATION] === conversationId);
  /**
   * FastStream's process span of a request our client sent, by the span id its subscriber put in the
   * reply (on NATS our client correlates by reply subject, so FastStream's conversation id is its own).
   */
  const fsProcessSpan = (reply: unknown): Promise<FastStreamSpan> => {
    const { span_id: spanId } = reply as { span_id?: string };
    expect(spanId, 'FastStream reports its process span id in the reply').toMatch(/^[0-9a-f]{16}$/);
    return fs!.span((s) => s.span_id === spanId);
  };

  beforeAll(async () => {
    venvPython();
    await b.prepare?.();
    fs = new FastStreamApp(b.fsArgs, { telemetry: true });
    @Module({ controllers: [SumController] })
    class TraceInteropModule {}
    app = await NestFactory.createMicroservice(TraceInteropModule, { strategy: b.server(), logger: false });
    await app.listen();
    client = b.client();
    clients.push(client);
    await client.connect();
    await fs.ready;
    await b.warmUp?.(client);
  });

  afterAll(async () => {
    await fs?.stop();
    await Promise.all(clients.map((c) => c.close()));
    await app?.close();
    await b.cleanUp?.();
  });

  it("a FastStream client's trace goes on in our server: our process span is the child of FastStream's span", async () => {
    const correlationId = `fs-${randomUUID()}`;
    const res = await fs!.request(nestPattern, [1, 2, 3], { correlationId });
    expect(res.reply).toBe(6);
    // FastStream's publish span, and the span whose context its middleware put in the message headers:
    // with no span current it starts a `create` span (the message's creation context, the publish span's
    // parent) and injects that.
    const publish = await fsSpan(`${b.fsName(nestPattern)} publish`, correlationId);
    const created = await fsSpan(`${b.fsName(nestPattern)} create`, correlationId);
    expect(publish.kind).toBe('PRODUCER');
    expect(publish.parent_span_id).toBe(created.span_id);
    const processed = await ourSpan(`process ${nestPattern}`, correlationId);
    expect(processed.kind).toBe(SpanKind.CONSUMER);
    expect(processed.spanContext().traceId).toBe(publish.trace_id);
    expect(processed.parentSpanContext?.spanId).toBe(created.span_id);
    expect(processed.parentSpanContext?.isRemote).toBe(true);
  });

  it("our client's trace goes on in a FastStream subscriber: its process span is the child of our send span", async () => {
    const root = trace.getTracer('test').startSpan('caller');
    const reply = await context.with(trace.setSpan(context.active(), root), () =>
      firstValueFrom(client.send(fsDestination, [1, 2, 3, 4])),
    );
    root.end();
    expect(reply).toMatchObject({ sum: 10 });
    const send = await ourSendSpan(root.spanContext().traceId);
    const processed = await fsProcessSpan(reply);
    expect(processed.name).toBe(`${b.fsName(fsDestination)} process`);
    expect(processed.kind).toBe('CONSUMER');
    expect(processed.trace_id).toBe(send.spanContext().traceId);
    expect(processed.parent_span_id).toBe(send.spanContext().spanId);
  });

  it('with tracing off on our client, FastStream starts a trace of its own (the check above can fail)', async () => {
    const silent = b.client({ tracing: false });
    clients.push(silent);
    await silent.connect();
    const root = trace.getTracer('test').startSpan('caller');
    const reply = await context.with(trace.setSpan(context.active(), root), () =>
      firstValueFrom(silent.send(fsDestination, [5])),
    );
    root.end();
    const processed = await fsProcessSpan(reply);
    expect(processed.name).toBe(`${b.fsName(fsDestination)} process`);
    expect(processed.trace_id).not.toBe(root.spanContext().traceId);
  });
}

describe('FastStream trace interop (TelemetryMiddleware)', () => {
  beforeAll(() => {
    venvPython(); // fails every test below with "run bash scripts/interop-env.sh" when the venv is missing
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(
      new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
    );
    trace.setGlobalTracerProvider(
      new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }),
    );
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    context.disable();
  });

  describe('NATS', () => {
    traceSuite({
      fsArgs: ['nats', NATS_URL, fsDestination],
      fsName: (d) => d,
      server: () => new NatsRpcServer({ servers: NATS_URL, queue: 'trace-interop' }),
      client: (telemetry) => new NatsRpcClient({ servers: NATS_URL, timeout: 20_000, telemetry }),
    });
  });

  describe('NATS JetStream', () => {
    // FastStream's subscriber reads a stream of its own; our server serves through its stream.
    const fsStream = `FSTRACE_${run}`;
    const nestStream = `NESTTRACE_${run}`;
    traceSuite({
      fsArgs: ['nats-js', NATS_URL, fsDestination, fsStream, nestStream],
      fsName: (d) => d,
      server: () =>
        new NatsRpcServer({
          servers: NATS_URL,
          jetstream: { stream: nestStream, storage: 'memory', deadLetterSubject: false },
        }),
      client: (telemetry) =>
        new NatsRpcClient({ servers: NATS_URL, timeout: 20_000, jetstream: { stream: fsStream }, telemetry }),
      cleanUp: async () => {
        const nc = await connect({ servers: NATS_URL });
        const jsm = await jetstreamManager(nc);
        for (const name of [fsStream, nestStream]) await jsm.streams.delete(name).catch(() => undefined);
        await nc.close();
      },
    });
  });

  describe('RabbitMQ', () => {
    traceSuite({
      fsArgs: ['rabbit', `${AMQP_URL}/`, fsDestination],
      // FastStream names a RabbitMQ destination `{exchange}.{routing key}`, the default exchange `default`.
      fsName: (d) => `default.${d}`,
      server: () => new RabbitRpcServer({ urls: [AMQP_URL] }),
      client: (telemetry) => new RabbitRpcClient({ urls: [AMQP_URL], timeout: 20_000, telemetry }),
      cleanUp: async () => {
        const conn = await amqp.connect(AMQP_URL);
        const ch = await conn.createChannel();
        for (const q of [fsDestination, nestPattern]) await ch.deleteQueue(q).catch(() => undefined);
        await conn.close();
      },
    });
  });

  describe('Kafka', () => {
    const fsReplies = `${prefix}.fs.replies`;
    const kafka = new kafkajs.Kafka({ brokers: KAFKA_BROKERS, logLevel: kafkajs.logLevel.NOTHING });
    traceSuite({
      fsArgs: ['kafka', KAFKA_BROKERS.join(','), fsDestination, fsReplies],
      fsName: (d) => d,
      // FastStream (aiokafka) creates no topics, and our client refuses a missing one.
      prepare: async () => {
        const admin = kafka.admin();
        await admin.connect();
        try {
          await admin.createTopics({
            topics: [
              { topic: fsDestination, numPartitions: 1 },
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
      client: (telemetry) =>
        new KafkaRpcClient({
          client: {
            brokers: KAFKA_BROKERS,
            clientId: `${prefix}-client-${randomUUID()}`,
            logLevel: 'nothing',
          },
          timeout: 20_000,
          telemetry,
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
    });
  });
});
