import { Logger, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  RpcPayloadTooLargeError,
  RpcRecordBuilder,
  RpcRemoteError,
  RpcTimeoutError,
} from '../../../lib/index.js';
import { DIRECT_REPLY_TO, RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { coalesceWrites } from '../../../lib/rabbitmq/rabbit-coalesce.js';
import { PublishGate } from '../../../lib/rabbitmq/rabbit-flow.js';
import { AMQP_URL } from '../brokers.js';
import { transportConformance } from '../support/conformance.js';
import { EventLog, Gate } from '../support/sync.js';
import { fib, rabbitController, selfSettlingController, type SelfSettling } from './app/rabbit.controller.js';

const prefix = `t${randomUUID().slice(0, 8)}`;
const log = new EventLog();
const gate = new Gate();
const controllers = rabbitController(prefix, log, gate);

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe('RabbitMQ transport', () => {
  let app: INestMicroservice;
  let server: RabbitRpcServer;
  let client: RabbitRpcClient;
  let raw: ChannelModel;
  let ch: Channel;
  const extraQueues: string[] = [];

  beforeAll(async () => {
    @Module({ controllers: controllers.controllers })
    class AppModule {}
    server = new RabbitRpcServer({ urls: [AMQP_URL], prefetch: 50 });
    app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    await app.listen();

    // As the issue has it: ClientsModule.register with customClass.
    @Module({
      imports: [
        ClientsModule.register([
          { name: 'BILLING', customClass: RabbitRpcClient, options: { urls: [AMQP_URL] } },
        ]),
      ],
    })
    class ClientModule {}
    const clientApp = await NestFactory.createApplicationContext(ClientModule, { logger: false });
    client = clientApp.get<ClientProxy>('BILLING') as RabbitRpcClient;
    await client.connect();
    raw = await amqp.connect(AMQP_URL);
    ch = await raw.createChannel();
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    if (ch)
      for (const q of [...server.queueNames, ...extraQueues]) await ch.deleteQueue(q).catch(() => undefined);
    await raw?.close();
  });

  transportConformance({
    prefix,
    log,
    gate,
    client: () => client,
    newClient: (options) => new RabbitRpcClient({ urls: [AMQP_URL], ...options }),
    bulk: {
      requestTimeoutMs: 100_000,
      testTimeoutMs: 120_000,
      // 10 000 publishes in one turn overflow amqplib's channel buffer: the rest wait for 'drain'.
      around: () => {
        const fill = vi.spyOn(PublishGate.prototype, 'fill');
        const drain = vi.spyOn(PublishGate.prototype, 'drain');
        return {
          verify: () => {
            expect(fill).toHaveBeenCalled();
            expect(drain).toHaveBeenCalled();
          },
          restore: () => {
            fill.mockRestore();
            drain.mockRestore();
          },
        };
      },
    },
  });

  it('coalesces frame writes on the installed amqplib (its internals are as expected)', async () => {
    const model = await amqp.connect(AMQP_URL);
    try {
      expect(coalesceWrites(model)).toBe(true);
      const c2 = await model.createChannel(); // still works through the corked multiplexer
      await expect(c2.checkQueue(`${prefix}.sum`)).resolves.toMatchObject({ queue: `${prefix}.sum` });
    } finally {
      await model.close();
    }
  });

  it('declares one queue per pattern, named by the pattern', async () => {
    expect(server.queueNames).toEqual(
      expect.arrayContaining([`${prefix}.sum`, `${prefix}.notify`, `${prefix}.slow`]),
    );
    const q = await ch.checkQueue(`${prefix}.sum`);
    expect(q.consumerCount).toBe(1);
  });

  it('answers concurrent requests, each with its own sum (sum-rmq "concurrent")', async () => {
    const tabs = [
      [1, 2, 3, 4, 5],
      [6, 7, 8, 9, 10],
      [11, 12, 13, 14, 15],
      [16, 17, 18, 19, 20],
      [21, 22, 23, 24, 25],
    ];
    const sums = await Promise.all(tabs.map((t) => firstValueFrom(client.send(`${prefix}.sum`, t))));
    expect(sums).toEqual(tabs.map((t) => t.reduce((a, b) => a + b)));
  });

  it('acks failed requests instead of requeueing them', async () => {
    for (let i = 0; i < 3; i++) {
      const err = await firstValueFrom(client.send(`${prefix}.flaky`, { fail: true })).catch((e) => e);
      expect(err).toBeInstanceOf(RpcRemoteError);
    }
    await expect(firstValueFrom(client.send(`${prefix}.flaky`, { fail: false }))).resolves.toBe('fine');
    // A requeued failure would have come back (redelivered at once) and run the handler again.
    expect(log.count('flaky')).toBe(4);
    expect((await ch.checkQueue(`${prefix}.flaky`)).messageCount).toBe(0);
  });

  it('passes headers and AMQP properties to the handler, and returns reply headers on request', async () => {
    const record = new RpcRecordBuilder({}).setHeaders({ 'x-tenant': 'a' }).withReplyHeaders().build();
    const reply = await firstValueFrom(client.send(`${prefix}.amqp-context`, record));
    expect(reply.data).toEqual({
      tenant: 'a',
      pattern: `${prefix}.amqp-context`,
      routingKey: `${prefix}.amqp-context`,
      redelivered: false,
      correlationId: expect.any(String),
      replyTo: expect.stringMatching(/^amq\.rabbitmq\.reply-to\./),
      contentType: 'application/json',
      hasChannel: true,
    });
    expect(reply.headers['x-served-by']).toBe('rabbit');
  });

  it('sends the time left as AMQP expiration, so RabbitMQ drops a request nobody waits for', async () => {
    // A queue nobody consumes, dead-lettering into a second one: an expired request shows up there.
    const queue = `${prefix}.unserved`;
    const dlq = `${prefix}.unserved.expired`;
    extraQueues.push(queue, dlq);
    await ch.assertQueue(dlq, { durable: false });
    await ch.assertQueue(queue, { durable: false, deadLetterExchange: '', deadLetterRoutingKey: dlq });
    const dead = deferred<ConsumeMessage>();
    await ch.consume(dlq, (m) => m && dead.resolve(m), { noAck: true });

    const err = await firstValueFrom(
      client.send(`${queue}`, new RpcRecordBuilder({ x: 1 }).setTimeout(300).build()),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(RpcTimeoutError);
    const msg = await dead.promise;
    expect(msg.properties.correlationId).toBe(err.correlationId);
    expect(Number(msg.properties.expiration ?? 'NaN')).toBeNaN(); // RabbitMQ strips it when dead-lettering…
    const death = msg.properties.headers!['x-death']![0]!;
    expect(death.reason).toBe('expired'); // …and records why
    expect(Number(death['original-expiration'])).toBeGreaterThan(0);
    expect(Number(death['original-expiration'])).toBeLessThanOrEqual(300);
    expect((await ch.checkQueue(queue)).messageCount).toBe(0);
  });

  it('refuses a message larger than maxMessageSize before publishing it', async () => {
    const small = new RabbitRpcClient({ urls: [AMQP_URL], maxMessageSize: 1024 });
    try {
      const err = await firstValueFrom(small.send(`${prefix}.echo`, 'x'.repeat(2048))).catch((e) => e);
      expect(err).toBeInstanceOf(RpcPayloadTooLargeError);
      await expect(firstValueFrom(small.send(`${prefix}.echo`, 'small'))).resolves.toBe('small');
    } finally {
      await small.close();
    }
  });

  it('replies through a private exclusive reply queue when asked to', async () => {
    const priv = new RabbitRpcClient({ urls: [AMQP_URL], replyQueue: '' });
    try {
      await priv.connect();
      expect(priv.replyQueue).not.toBe(DIRECT_REPLY_TO);
      expect(priv.replyQueue).toMatch(/^amq\.gen-/);
      await expect(firstValueFrom(priv.send(`${prefix}.sum`, [4, 5]))).resolves.toBe(9);
      await expect(lastValueFrom(priv.send(`${prefix}.stream`, [1, 2]).pipe(toArray()))).resolves.toEqual([
        1, 2,
      ]);
    } finally {
      await priv.close();
    }
  });

  describe("a handler that settles its message itself, as Nest's built-in RMQ transport has it do", () => {
    const self = `${prefix}-self`;
    const pattern = `${self}.settles-itself`;
    const selfGate = new Gate();
    const settling = selfSettlingController(self, selfGate);
    let selfApp: INestMicroservice | undefined;
    let warn: ReturnType<typeof vi.spyOn>;

    beforeAll(async () => {
      @Module({ controllers: [settling.controller] })
      class SelfSettlingModule {}
      // prefetch 2: two messages left unacked would stop every further delivery (see stillServed).
      selfApp = await NestFactory.createMicroservice(SelfSettlingModule, {
        strategy: new RabbitRpcServer({ urls: [AMQP_URL], prefetch: 2 }),
        logger: false,
      });
      await selfApp.listen();
      extraQueues.push(pattern);
    });
    afterAll(async () => {
      selfGate.open();
      await selfApp?.close();
    });
    beforeEach(() => {
      warn = vi.spyOn(Logger.prototype, 'warn');
    });
    afterEach(() => warn.mockRestore());

    const send = (how: SelfSettling) =>
      firstValueFrom(client.send(pattern, new RpcRecordBuilder(how).setTimeout(5_000).build()));
    /**
     * An RPC on the server's channel, queued behind the server's own ack of the last request: a second
     * settlement of one delivery makes the broker close that channel, and this fails.
     */
    const serverChannelAlive = () =>
      expect(settling.used.channel!.checkQueue(pattern)).resolves.toMatchObject({ messageCount: 0 });
    /** Answered only if every earlier message was settled: two unsettled ones would use up prefetch 2. */
    const stillServed = async () => {
      for (let i = 0; i < 3; i++) await expect(send('ack')).resolves.toBe('ack');
    };

    it('is settled once, by the handler; the channel stays open and nothing is redelivered', async () => {
      for (const how of ['ack', 'ack-twice', 'reject', 'none'] as const) {
        await expect(send(how)).resolves.toBe(how);
        await serverChannelAlive();
      }
      await stillServed();
      expect(settling.used.calls).toBe(7); // a redelivered request would have run again
    });

    it('settles only its own message on nack(msg, allUpTo), not one another handler holds', async () => {
      selfGate.reset();
      const held = send('wait');
      await selfGate.entered;
      await expect(send('nack-all-up-to')).resolves.toBe('nack-all-up-to');
      selfGate.open();
      await expect(held).resolves.toBe('wait'); // its ack after the reply names a tag nack(allUpTo) would have settled
      await serverChannelAlive();
      await stillServed();
    });

    it('ignores, with a warning, an ack that comes after the server settled the message', async () => {
      await expect(send('none')).resolves.toBe('none');
      const { channel, message } = settling.used;
      channel!.on('error', () => undefined).ack(message!); // through the chained call too
      await serverChannelAlive();
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/ack\(\) of a message .* was ignored/));
    });

    it("gets an error from ackAll(), which would settle other handlers' requests", async () => {
      const err = await send('ackAll').catch((e) => e);
      expect(err).toBeInstanceOf(RpcRemoteError);
      await serverChannelAlive();
      await stillServed();
    });

    it('does nothing on a noAck server, which has nothing to settle', async () => {
      const other = `${prefix}-noack`;
      const noAckSettling = selfSettlingController(other, selfGate);
      @Module({ controllers: [noAckSettling.controller] })
      class NoAckModule {}
      const noAckApp = await NestFactory.createMicroservice(NoAckModule, {
        strategy: new RabbitRpcServer({ urls: [AMQP_URL], noAck: true }),
        logger: false,
      });
      extraQueues.push(`${other}.settles-itself`);
      try {
        await noAckApp.listen();
        for (const how of ['ack', 'reject'] as const) {
          await expect(firstValueFrom(client.send(`${other}.settles-itself`, how))).resolves.toBe(how);
          // An ack on a noAck channel names an unknown delivery tag: the broker would close the channel.
          await expect(
            noAckSettling.used.channel!.checkQueue(`${other}.settles-itself`),
          ).resolves.toMatchObject({
            messageCount: 0,
          });
        }
      } finally {
        await noAckApp.close();
      }
    });
  });

  it('replies with a bad-request error to a malformed JSON body from a raw client, and acks it', async () => {
    const reply = deferred<ConsumeMessage>();
    const replyCh = await raw.createChannel();
    await replyCh.consume(DIRECT_REPLY_TO, (m) => m && reply.resolve(m), { noAck: true });
    replyCh.sendToQueue(`${prefix}.sum`, Buffer.from('{not json'), {
      contentType: 'application/json',
      correlationId: 'raw-1',
      replyTo: DIRECT_REPLY_TO,
    });
    const msg = await reply.promise;
    await replyCh.close();
    expect(msg.properties.correlationId).toBe('raw-1');
    expect(msg.properties.headers?.['rpc-error']).toBe('bad-request');
    expect(JSON.parse(msg.content.toString()).message).toMatch(/not valid JSON/);
    // the server keeps serving, and the bad message is gone (acked, not requeued)
    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 1]))).resolves.toBe(2);
    expect((await ch.checkQueue(`${prefix}.sum`)).messageCount).toBe(0);
  });

  it('decodes a raw body without content type as JSON, then text', async () => {
    const replies = new Map<string, ConsumeMessage>();
    const both = deferred<void>();
    const replyCh = await raw.createChannel();
    await replyCh.consume(
      DIRECT_REPLY_TO,
      (m) => {
        if (!m) return;
        replies.set(m.properties.correlationId, m);
        if (replies.size === 2) both.resolve();
      },
      { noAck: true },
    );
    replyCh.sendToQueue(`${prefix}.echo`, Buffer.from('{"x":1}'), {
      correlationId: 'json',
      replyTo: DIRECT_REPLY_TO,
    });
    replyCh.sendToQueue(`${prefix}.echo`, Buffer.from('hello'), {
      correlationId: 'text',
      replyTo: DIRECT_REPLY_TO,
    });
    await both.promise;
    await replyCh.close();
    expect(JSON.parse(replies.get('json')!.content.toString())).toEqual({ x: 1 });
    expect(replies.get('json')!.properties.contentType).toBe('application/json');
    expect(replies.get('text')!.content.toString()).toBe('hello');
  });

  describe("interoperability with RabbitMQ's RPC tutorial", () => {
    let tutorialApp: INestMicroservice;

    beforeAll(async () => {
      @Module({ controllers: [controllers.TutorialController] })
      class TutorialModule {}
      tutorialApp = await NestFactory.createMicroservice(TutorialModule, {
        strategy: new RabbitRpcServer({ urls: [AMQP_URL] }),
        logger: false,
      });
      await tutorialApp.listen();
    });

    afterAll(async () => {
      await tutorialApp?.close();
      await ch?.deleteQueue('rpc_queue').catch(() => undefined);
    });

    it("answers the tutorial's raw amqplib client with fib(30)", async () => {
      // rpc_client.js from the tutorial, as it is: exclusive reply queue, correlationId, replyTo.
      const tch = await raw.createChannel();
      const q = await tch.assertQueue('', { exclusive: true });
      const correlationId = randomUUID();
      const answer = deferred<ConsumeMessage>();
      await tch.consume(
        q.queue,
        (msg) => {
          if (msg?.properties.correlationId === correlationId) answer.resolve(msg);
        },
        { noAck: true },
      );
      tch.sendToQueue('rpc_queue', Buffer.from('30'), { correlationId, replyTo: q.queue });
      const msg = await answer.promise;
      await tch.close();
      expect(parseInt(msg.content.toString(), 10)).toBe(fib(30));
      expect(msg.content.toString()).toBe('832040');
    });
  });

  describe('our client against a raw amqplib server', () => {
    const queue = `${prefix}.raw-server`;
    let sch: Channel;
    let received = 0;

    beforeAll(async () => {
      // rpc_server.js from the tutorial, except that it replies twice to every request.
      sch = await raw.createChannel();
      await sch.assertQueue(queue, { durable: false });
      await sch.consume(queue, (msg) => {
        if (!msg) return;
        received++;
        const n = parseInt(msg.content.toString(), 10);
        for (const r of [fib(n), -1]) {
          sch.sendToQueue(msg.properties.replyTo, Buffer.from(String(r)), {
            correlationId: msg.properties.correlationId,
          });
        }
        sch.ack(msg);
      });
    });

    afterAll(async () => {
      await sch?.deleteQueue(queue).catch(() => undefined);
      await sch?.close().catch(() => undefined);
    });

    it('takes the first reply, ignores the duplicate, and keeps serving', async () => {
      await expect(firstValueFrom(client.send(queue, 30))).resolves.toBe(832040);
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => firstValueFrom(client.send(queue, i))),
      );
      expect(many).toEqual(Array.from({ length: 20 }, (_, i) => fib(i)));
      // every duplicate arrived after its request settled and found nothing to settle
      await expect(firstValueFrom(client.send(queue, 10))).resolves.toBe(55);
      expect(received).toBe(22);
      expect(client.pendingCount).toBe(0);
    });
  });
});
