import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcConnectionError,
  RpcError,
  RpcNoRespondersError,
  RpcRecordBuilder,
  RpcRemoteError,
} from '../../../lib/index.js';
import {
  DeadLetterHeaders,
  JetStreamTopologyError,
  NatsJetStreamRpcContext,
  NatsRpcClient,
  NatsRpcServer,
  type JetStreamServerOptions,
} from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { transportConformance } from '../support/conformance.js';
import { EventLog, Gate, mathController } from './app/math.controller.js';

// JetStream mode on the real nats-server (2.9, JetStream on in scripts/brokers.sh): the shared
// conformance suite, then what only this mode has: stored requests, durable replies, dead letters
// after maxDeliver, and working acks that keep a long handler from being redelivered.

const prefix = `js${randomUUID().slice(0, 8)}`;
const stream = `RPC_${prefix}`;
const deadLetterStream = `DLQ_${prefix}`;
const deadLetterSubject = `${prefix}-dead.letters`;
const log = new EventLog();
const gate = new Gate();

/** Shortened from the 45 s handler under a 30 s ackWait, to keep the suite fast: the same ratio of 2.5. */
const ACK_WAIT = 3_000;
const LONG_HANDLER = 7_500;

/** What the JetStream-only handlers saw. */
const seen = { crashDeliveries: 0, longDeliveries: 0, poisonDeliveries: 0 };

function jetstreamController() {
  @Controller()
  class JetStreamHandlers {
    @MessagePattern(`${prefix}.long`)
    async long(@Payload() n: number) {
      seen.longDeliveries++;
      // the handler's length is the duration under test, not a synchronisation
      await new Promise((resolve) => setTimeout(resolve, LONG_HANDLER));
      return n * 2;
    }

    @EventPattern(`${prefix}.failing`)
    failing(@Payload() _data: unknown): void {
      seen.crashDeliveries++;
      throw new Error('event handler failed');
    }

    @EventPattern(`${prefix}.replies`)
    replies(@Payload() value: unknown, @Ctx() ctx: unknown): void {
      log.record('replies', { value, correlationId: (ctx as NatsJetStreamRpcContext).getCorrelationId() });
    }
  }
  return JetStreamHandlers;
}

/** A worker of its own for `poison` and `acked`, started and closed by the test that wants one. */
function workerModule() {
  @Controller()
  class WorkerHandlers {
    @MessagePattern(`${prefix}.poison`)
    poison() {
      seen.poisonDeliveries++;
      return 'handled';
    }
    @MessagePattern(`${prefix}.acked`)
    acked(@Ctx() ctx: NatsJetStreamRpcContext) {
      return { count: ctx.getDeliveryCount(), subject: ctx.getSubject() };
    }
  }
  @Module({ controllers: [WorkerHandlers] })
  class WorkerModule {}
  return WorkerModule;
}

describe('NATS transport in JetStream mode', () => {
  let app: INestMicroservice;
  let server: NatsRpcServer;
  let client: NatsRpcClient;
  let raw: NatsConnection;
  let jsm: JetStreamManager;

  const jetstream: JetStreamServerOptions = {
    stream,
    deadLetterStream,
    deadLetterSubject,
    consumerPrefix: prefix,
    ackWait: ACK_WAIT,
    maxDeliver: 2,
    retryDelay: 100,
  };

  async function startWorker() {
    const worker = new NatsRpcServer({ servers: NATS_URL, jetstream });
    const workerApp = await NestFactory.createMicroservice(workerModule(), {
      strategy: worker,
      logger: false,
    });
    await workerApp.listen();
    return { worker, workerApp };
  }

  beforeAll(async () => {
    @Module({ controllers: [...mathController(prefix, log, gate), jetstreamController()] })
    class AppModule {}
    server = new NatsRpcServer({ servers: NATS_URL, jetstream });
    app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    await app.listen();
    client = new NatsRpcClient({ servers: NATS_URL, jetstream: { stream } });
    await client.connect();
    raw = await connect({ servers: NATS_URL });
    jsm = await jetstreamManager(raw);
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    for (const name of [stream, deadLetterStream]) await jsm?.streams.delete(name).catch(() => undefined);
    await raw?.close();
  });

  transportConformance({
    prefix,
    log,
    gate,
    client: () => client,
    newClient: (options) => new NatsRpcClient({ servers: NATS_URL, jetstream: true, ...options }),
    bulk: { requestTimeoutMs: 80_000, testTimeoutMs: 90_000 },
  });

  it('creates the request stream with work-queue retention and one durable consumer per handler', async () => {
    const info = await jsm.streams.info(stream);
    expect(info.config.retention).toBe('workqueue');
    expect(info.config.storage).toBe('file');
    expect(info.config.subjects).toEqual(expect.arrayContaining([`${prefix}.sum`, `${prefix}.greet.*`]));
    const consumer = await jsm.consumers.info(stream, `${prefix}_${prefix}_greet_STAR`);
    expect(consumer.config).toMatchObject({
      durable_name: `${prefix}_${prefix}_greet_STAR`,
      filter_subject: `${prefix}.greet.*`,
      ack_policy: 'explicit',
      ack_wait: ACK_WAIT * 1_000_000,
    });
  });

  it('stores the request in the stream and acks it once the reply went out', async () => {
    const { workerApp } = await startWorker();
    try {
      await expect(firstValueFrom(client.send(`${prefix}.acked`, {}))).resolves.toEqual({
        count: 1,
        subject: `${prefix}.acked`,
      });
    } finally {
      await workerApp.close(); // resolves once its acks went out
    }
    const consumer = await jsm.consumers.info(stream, `${prefix}_${prefix}_acked`);
    expect(consumer.delivered.stream_seq).toBeGreaterThan(0);
    expect(consumer.num_ack_pending).toBe(0);
    expect(consumer.num_pending).toBe(0);
    // work-queue retention: an acked request is gone from the stream
    const info = await jsm.streams.info(stream, { subjects_filter: `${prefix}.acked` });
    expect(info.state.subjects?.[`${prefix}.acked`] ?? 0).toBe(0);
  });

  it('streams replies to the inbox in order', async () => {
    await expect(lastValueFrom(client.send(`${prefix}.stream`, [4, 5, 6]).pipe(toArray()))).resolves.toEqual([
      4, 5, 6,
    ]);
  });

  it('sends each reply to a durable reply subject that an @EventPattern handler reads from the stream', async () => {
    const record = new RpcRecordBuilder([2, 5])
      .setReplyTo(`${prefix}.replies`)
      .setExtras({ correlationId: 'job-42' })
      .build();
    await lastValueFrom(client.emit(`${prefix}.sum.later`, record), { defaultValue: undefined });
    await log.until('replies');
    expect(log.seen.find((e) => e.pattern === 'replies')?.data).toEqual({
      value: 7,
      correlationId: 'job-42',
    });
    const streamed = new RpcRecordBuilder([1, 2, 3]).setReplyTo(`${prefix}.replies`).build();
    await lastValueFrom(client.emit(`${prefix}.stream`, streamed), { defaultValue: undefined });
    await log.until('replies', 4);
    const values = log.seen
      .filter((e) => e.pattern === 'replies')
      .map((e) => (e.data as { value: unknown }).value);
    expect(values.slice(1)).toEqual([1, 2, 3]);
  });

  it('fails with RpcNoRespondersError when no stream captures the subject', async () => {
    const err = await firstValueFrom(client.send(`${prefix}-uncaptured.x`, {})).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcNoRespondersError);
    expect(client.pendingCount).toBe(0);
  });

  it('dead-letters a request after maxDeliver deliveries and tells the waiting caller', async () => {
    // A first start creates the poison subject's consumer; then no worker of ours runs.
    await (await startWorker()).workerApp.close();
    const before = (await jsm.streams.info(deadLetterStream)).state.last_seq;
    const reply = firstValueFrom(
      client.send(`${prefix}.poison`, new RpcRecordBuilder({ job: 1 }).setTimeout(0).build()),
    ).catch((e: unknown) => e);
    // Two workers that die on it: each takes the delivery and never acks, so it comes back after ackWait.
    const consumer = await jsm.jetstream().consumers.get(stream, `${prefix}_${prefix}_poison`);
    for (let delivery = 1; delivery <= 2; delivery++) {
      const msg = await consumer.next({ expires: ACK_WAIT * 3 });
      expect(msg?.info.deliveryCount).toBe(delivery);
    }
    const { worker, workerApp } = await startWorker();
    try {
      const err = await reply;
      expect(err).toBeInstanceOf(RpcRemoteError);
      expect(RpcError.is(err, 'RPC_REMOTE')).toBe(true);
      expect((err as RpcRemoteError).kind).toBe('dead-lettered');
      expect(seen.poisonDeliveries).toBe(0);
      expect(worker.counters.requestsDeadLettered).toBe(1);
      expect(worker.counters.messagesRedelivered).toBe(1);
    } finally {
      await workerApp.close();
    }
    const after = await jsm.streams.info(deadLetterStream);
    expect(after.state.last_seq).toBe(before + 1);
    const letter = await jsm.streams.getMessage(deadLetterStream, { seq: after.state.last_seq });
    expect(letter?.header.get(DeadLetterHeaders.reason)).toBe('max-deliver');
    expect(letter?.header.get(DeadLetterHeaders.deliveryCount)).toBe('3');
    expect(letter?.header.get(DeadLetterHeaders.originalSubject)).toBe(`${prefix}.poison`);
    expect(letter?.json()).toEqual({ job: 1 });
  }, 30_000);

  it('retries a failing event handler, then dead-letters the event on its last delivery', async () => {
    const before = (await jsm.streams.info(deadLetterStream)).state.last_seq;
    const letters = raw.subscribe(deadLetterSubject, { max: 1 });
    await raw.flush();
    await lastValueFrom(client.emit(`${prefix}.failing`, { n: 1 }), { defaultValue: undefined });
    let letter;
    for await (const m of letters) letter = m;
    expect(letter?.headers?.get(DeadLetterHeaders.reason)).toBe('failed');
    expect(letter?.headers?.get(DeadLetterHeaders.deliveryCount)).toBe('2');
    expect(seen.crashDeliveries).toBe(2);
    expect((await jsm.streams.info(deadLetterStream)).state.last_seq).toBe(before + 1);
  });

  it(`keeps a ${LONG_HANDLER} ms handler from being redelivered under a ${ACK_WAIT} ms ackWait with working acks`, async () => {
    const redelivered = server.counters.messagesRedelivered;
    await expect(
      firstValueFrom(client.send(`${prefix}.long`, new RpcRecordBuilder(21).setTimeout(0).build())),
    ).resolves.toBe(42);
    expect(seen.longDeliveries).toBe(1);
    expect(server.counters.messagesRedelivered).toBe(redelivered);
    const consumer = await jsm.consumers.info(stream, `${prefix}_${prefix}_long`);
    expect(consumer.num_redelivered).toBe(0);
    expect(consumer.num_ack_pending).toBe(0);
  }, 30_000);

  it('answers a raw JetStream publish carrying reply_to and correlation_id headers', async () => {
    const inbox = `_INBOX.${prefix}.raw`;
    const sub = raw.subscribe(inbox, { max: 1 });
    await raw.flush();
    const h = natsHeaders();
    h.set('reply_to', inbox);
    h.set('correlation_id', 'raw-1');
    h.set('content-type', 'application/json');
    await jsm.jetstream().publish(`${prefix}.sum`, JSON.stringify([20, 22]), { headers: h });
    for await (const m of sub) {
      expect(m.string()).toBe('42');
      expect(m.headers?.get('correlation_id')).toBe('raw-1');
    }
  });

  describe('topology', () => {
    /** Starts the worker module with these JetStream options; resolves with the listen() error, if any. */
    async function listenWith(options: JetStreamServerOptions, module = workerModule()): Promise<unknown> {
      const app = await NestFactory.createMicroservice(module, {
        strategy: new NatsRpcServer({ servers: NATS_URL, jetstream: options }),
        logger: false,
      });
      return app.listen().then(
        () => app.close(),
        async (err: unknown) => {
          await app.close();
          return err;
        },
      );
    }

    it('fails listen() with a topology error when createStream is false and the stream is missing', async () => {
      const missing = `MISSING_${prefix}`;
      const err = (await listenWith({
        ...jetstream,
        stream: missing,
        createStream: false,
      })) as RpcConnectionError;
      expect(err).toBeInstanceOf(RpcConnectionError);
      expect(err.cause).toBeInstanceOf(JetStreamTopologyError);
      expect(err.cause).toMatchObject({ code: 'RPC_TOPOLOGY', kind: 'stream', entity: missing });
      expect(err.message).toContain(`JetStream stream "${missing}" does not exist`);
    });

    it('fails listen() when createStream is false and the stream does not capture a handler subject', async () => {
      const narrow = `NARROW_${prefix}`;
      await jsm.streams.add({
        name: narrow,
        subjects: [`${prefix}-narrow.only`],
        storage: 'memory' as never,
      });
      try {
        const err = (await listenWith({
          ...jetstream,
          stream: narrow,
          createStream: false,
        })) as RpcConnectionError;
        expect(err.cause).toMatchObject({ code: 'RPC_TOPOLOGY', kind: 'stream', entity: narrow });
        expect(err.message).toContain(`does not capture "${prefix}.poison"`);
      } finally {
        await jsm.streams.delete(narrow);
      }
    });

    it('refuses a durable consumer of that name with another filter subject', async () => {
      @Controller()
      class RogueHandler {
        @MessagePattern(`${prefix}-rogue.job`)
        job() {
          return 'job';
        }
      }
      @Module({ controllers: [RogueHandler] })
      class RogueModule {}
      const rogue = `ROGUE_${prefix}`;
      const durable = `${prefix}_${prefix}-rogue_job`;
      await jsm.streams.add({ name: rogue, subjects: [`${prefix}-rogue.>`], storage: 'memory' as never });
      try {
        await jsm.consumers.add(rogue, {
          durable_name: durable,
          filter_subject: `${prefix}-rogue.other`,
          ack_policy: 'explicit' as never,
        });
        const err = (await listenWith({ ...jetstream, stream: rogue }, RogueModule)) as RpcConnectionError;
        expect(err.cause).toMatchObject({ code: 'RPC_TOPOLOGY', kind: 'consumer', entity: durable });
        expect(err.message).toContain(`filters "${prefix}-rogue.other", not "${prefix}-rogue.job"`);
      } finally {
        await jsm.streams.delete(rogue);
      }
    });
  });
});
