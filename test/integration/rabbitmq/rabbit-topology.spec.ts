import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcConnectionError, RpcNoRespondersError, RpcRecordBuilder } from '../../../lib/index.js';
import {
  DIRECT_REPLY_TO,
  RabbitRpcClient,
  type RabbitRpcContext,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
  RabbitTopologyError,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { rabbitmqctl } from '../support/rabbitmqctl.js';
import { EventLog } from '../support/sync.js';

const prefix = `t${randomUUID().slice(0, 8)}`;

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

async function start(module: any, options: RabbitRpcServerOptions): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    strategy: new RabbitRpcServer({ urls: [AMQP_URL], ...options }),
    logger: false,
  });
  await app.listen();
  return app;
}

/** Queue properties as the broker reports them. */
async function describeQueue(name: string): Promise<Record<string, string>> {
  const out = await rabbitmqctl(
    'list_queues',
    '--no-table-headers',
    'name',
    'durable',
    'auto_delete',
    'type',
    'arguments',
  );
  const line = out.split('\n').find((l) => l.split('\t')[0] === name);
  if (!line) throw new Error(`queue ${name} not listed`);
  const [, durable, autoDelete, type, args] = line.split('\t');
  return { durable: durable!, autoDelete: autoDelete!, type: type!, arguments: args! };
}

describe('RabbitMQ topology', () => {
  let raw: ChannelModel;
  let ch: Channel;
  const queues = new Set<string>();
  const exchanges = new Set<string>();
  const apps: INestMicroservice[] = [];
  const clients: RabbitRpcClient[] = [];

  beforeAll(async () => {
    raw = await amqp.connect(AMQP_URL);
    ch = await raw.createChannel();
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  afterAll(async () => {
    for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
    for (const e of exchanges) await ch.deleteExchange(e).catch(() => undefined);
    await raw?.close();
  });

  function client(options: ConstructorParameters<typeof RabbitRpcClient>[0] = {}) {
    const c = new RabbitRpcClient({ urls: [AMQP_URL], ...options });
    clients.push(c);
    return c;
  }

  describe('topic exchange (Nest topic-exchange-rmq)', () => {
    const exchange = `${prefix}.topic`;
    const serviceQueue = `${prefix}.topic.svc`;
    const log = new EventLog();

    @Controller()
    class TopicController {
      @MessagePattern(`${prefix}.wildcard.*.*`)
      wildcard(@Ctx() ctx: RabbitRpcContext): string {
        return ctx.getRoutingKey().slice(prefix.length + 1);
      }
      @MessagePattern(`${prefix}.wildcard.a.exact`)
      exact(): string {
        return 'exact';
      }
      @MessagePattern(`${prefix}.orders.#`)
      orders(@Ctx() ctx: RabbitRpcContext): string {
        return `orders:${ctx.getPattern()}:${ctx.getRoutingKey()}`;
      }
      @MessagePattern(`${prefix}.double`)
      double(@Payload() n: number): number {
        return n * 2;
      }
      @EventPattern(`${prefix}.audit.*`)
      // Nest 12 types event handlers as (data, ...args: unknown[])
      audit(@Payload() data: unknown, @Ctx() ctx: unknown): void {
        log.record((ctx as RabbitRpcContext).getRoutingKey(), data);
      }
    }
    @Module({ controllers: [TopicController] })
    class TopicModule {}

    beforeAll(() => {
      queues.add(serviceQueue);
      exchanges.add(exchange);
    });

    it('binds one service queue with every pattern and dispatches by routing key, wildcards included', async () => {
      apps.push(await start(TopicModule, { exchange, serviceQueue }));
      const c = client({ exchange });
      await expect(firstValueFrom(c.send(`${prefix}.wildcard.a.b`, 1))).resolves.toBe('wildcard.a.b');
      await expect(firstValueFrom(c.send(`${prefix}.wildcard.x.y`, 1))).resolves.toBe('wildcard.x.y');
      await expect(firstValueFrom(c.send(`${prefix}.wildcard.a.exact`, 1))).resolves.toBe('exact');
      // `#` matches zero or more words
      await expect(firstValueFrom(c.send(`${prefix}.orders`, 1))).resolves.toBe(
        `orders:${prefix}.orders.#:${prefix}.orders`,
      );
      await expect(firstValueFrom(c.send(`${prefix}.orders.eu.new`, 1))).resolves.toBe(
        `orders:${prefix}.orders.#:${prefix}.orders.eu.new`,
      );
      await expect(firstValueFrom(c.send(`${prefix}.double`, 21))).resolves.toBe(42);

      const q = await ch.checkQueue(serviceQueue);
      expect(q.consumerCount).toBe(1);
      // no per-pattern queues in this topology
      const probe = await raw.createChannel();
      probe.on('error', () => undefined);
      await expect(probe.checkQueue(`${prefix}.double`)).rejects.toThrow(/NOT_FOUND/);
    });

    it('fails at once with RpcNoRespondersError for a routing key no binding matches', async () => {
      apps.push(await start(TopicModule, { exchange, serviceQueue }));
      const c = client({ exchange });
      const err = await firstValueFrom(c.send(`${prefix}.wildcard.too.many.words`, 1)).catch((e) => e);
      expect(err).toBeInstanceOf(RpcNoRespondersError);
    });

    it('routes events and reply-elsewhere results through the exchange', async () => {
      apps.push(await start(TopicModule, { exchange, serviceQueue }));
      const c = client({ exchange });
      await lastValueFrom(c.emit(`${prefix}.audit.login`, { user: 'ann' }), { defaultValue: undefined });
      await log.until(`${prefix}.audit.login`);
      const record = new RpcRecordBuilder(4).setReplyTo(`${prefix}.audit.result`).build();
      await lastValueFrom(c.emit(`${prefix}.double`, record), { defaultValue: undefined });
      await log.until(`${prefix}.audit.result`);
      expect(log.seen).toEqual([
        { pattern: `${prefix}.audit.login`, data: { user: 'ann' } },
        { pattern: `${prefix}.audit.result`, data: 8 },
      ]);
    });
  });

  it('supports a direct exchange (exact binding keys)', async () => {
    const exchange = { name: `${prefix}.direct`, type: 'direct' as const, durable: false };
    const serviceQueue = `${prefix}.direct.svc`;
    queues.add(serviceQueue);
    exchanges.add(exchange.name);
    @Controller()
    class DirectController {
      @MessagePattern(`${prefix}.d.one`)
      one(): number {
        return 1;
      }
      @MessagePattern(`${prefix}.d.*`)
      star(): string {
        return 'literal star';
      }
    }
    @Module({ controllers: [DirectController] })
    class DirectModule {}
    apps.push(await start(DirectModule, { exchange, serviceQueue }));
    const c = client({ exchange });
    await expect(firstValueFrom(c.send(`${prefix}.d.one`, 0))).resolves.toBe(1);
    await expect(firstValueFrom(c.send(`${prefix}.d.*`, 0))).resolves.toBe('literal star');
    expect(await firstValueFrom(c.send(`${prefix}.d.two`, 0)).catch((e) => e)).toBeInstanceOf(
      RpcNoRespondersError,
    );
  });

  it('declares queues durable, quorum or with arguments, globally and per handler', async () => {
    @Controller()
    class Declared {
      @MessagePattern(`${prefix}.q.durable`)
      durable(): string {
        return 'durable';
      }
      @MessagePattern(`${prefix}.q.quorum`, { queue: { quorum: true } })
      quorum(): string {
        return 'quorum';
      }
    }
    @Module({ controllers: [Declared] })
    class DeclaredModule {}
    queues.add(`${prefix}.q.durable`).add(`${prefix}.q.quorum`);
    apps.push(await start(DeclaredModule, { queue: { durable: true, arguments: { 'x-max-length': 1000 } } }));
    const c = client();
    await expect(firstValueFrom(c.send(`${prefix}.q.durable`, 0))).resolves.toBe('durable');
    await expect(firstValueFrom(c.send(`${prefix}.q.quorum`, 0))).resolves.toBe('quorum');

    const durable = await describeQueue(`${prefix}.q.durable`);
    expect(durable).toMatchObject({ durable: 'true', autoDelete: 'false', type: 'classic' });
    expect(durable.arguments).toContain('x-max-length');
    const quorum = await describeQueue(`${prefix}.q.quorum`);
    expect(quorum).toMatchObject({ durable: 'true', type: 'quorum' });
    expect(quorum.arguments).toContain('x-max-length');
  }, 60_000); // each describeQueue starts rabbitmqctl, an Erlang VM

  it('uses an existing queue as it is in passive mode, and fails clearly when it is missing', async () => {
    const name = `${prefix}.passive`;
    queues.add(name);
    @Controller()
    class Passive {
      @MessagePattern(name)
      ok(): string {
        return 'passive ok';
      }
    }
    @Module({ controllers: [Passive] })
    class PassiveModule {}

    const missing = await start(PassiveModule, { queue: { passive: true } }).catch((e) => e);
    expect(missing).toBeInstanceOf(RpcConnectionError);
    expect(missing.message).toContain(`Queue "${name}" does not exist`);
    expect(missing.cause).toBeInstanceOf(RabbitTopologyError);
    expect(missing.cause.replyCode).toBe(404);

    // Declared elsewhere with arguments this server does not know about: passive mode does not care.
    await ch.assertQueue(name, { durable: true, arguments: { 'x-message-ttl': 60_000, 'x-max-length': 10 } });
    apps.push(await start(PassiveModule, { queue: { passive: true } }));
    await expect(firstValueFrom(client().send(name, 0))).resolves.toBe('passive ok');
  });

  it('names the queue and the mismatch when a queue exists with other arguments', async () => {
    const name = `${prefix}.mismatch`;
    queues.add(name);
    await ch.assertQueue(name, {
      durable: false,
      arguments: { 'x-queue-type': 'classic', 'x-max-length': 5 },
    });
    @Controller()
    class Mismatch {
      @MessagePattern(name)
      ok(): string {
        return 'matched';
      }
    }
    @Module({ controllers: [Mismatch] })
    class MismatchModule {}

    const err = await start(MismatchModule, { queue: { arguments: { 'x-max-length': 50 } } }).catch((e) => e);
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect(err.message).toContain(`Queue "${name}" already exists with different settings`);
    expect(err.message).toContain("inequivalent arg 'x-max-length'");
    expect(err.cause).toBeInstanceOf(RabbitTopologyError);
    expect(err.cause).toMatchObject({ kind: 'queue', entity: name, replyCode: 406 });

    const durable = await start(MismatchModule, { queue: { durable: true } }).catch((e) => e);
    expect(durable.message).toContain("inequivalent arg 'durable'");

    // With several URLs the mismatch fails at once too, not hidden behind the next node's connection error.
    const unreachable = 'amqp://guest:guest@127.0.0.1:1';
    const cluster = await start(MismatchModule, {
      urls: [AMQP_URL, unreachable],
      queue: { arguments: { 'x-max-length': 50 } },
    }).catch((e) => e);
    expect(cluster.cause).toBeInstanceOf(RabbitTopologyError);
    expect(cluster.message).toContain("inequivalent arg 'x-max-length'");

    // The same server with matching options starts and serves: nothing was left broken.
    apps.push(
      await start(MismatchModule, { queue: { arguments: { 'x-queue-type': 'classic', 'x-max-length': 5 } } }),
    );
    await expect(firstValueFrom(client().send(name, 0))).resolves.toBe('matched');
  });

  it('dead-letters an undecodable event (no reply address) when the queue has a DLX, and answers an undecodable request', async () => {
    const events = `${prefix}.dlx.events`;
    const requests = `${prefix}.dlx.requests`;
    const dlq = `${prefix}.dlx.dead`;
    queues.add(events).add(requests).add(dlq);
    @Controller()
    class Dlx {
      @EventPattern(events)
      onEvent(@Payload() _data: unknown): void {}
      @MessagePattern(requests)
      onRequest(@Payload() data: unknown): unknown {
        return data;
      }
    }
    @Module({ controllers: [Dlx] })
    class DlxModule {}
    await ch.assertQueue(dlq, { durable: false });
    apps.push(await start(DlxModule, { queue: { deadLetterExchange: '', deadLetterRoutingKey: dlq } }));

    const dead: ConsumeMessage[] = [];
    const deadLog = new EventLog();
    await ch.consume(
      dlq,
      (m) => {
        if (!m) return;
        dead.push(m);
        deadLog.record('dead', m.properties.messageId);
      },
      { noAck: true },
    );
    ch.sendToQueue(events, Buffer.from('{broken'), {
      contentType: 'application/json',
      messageId: 'bad-event',
    });
    await deadLog.until('dead', 1);
    expect(dead[0]!.properties.messageId).toBe('bad-event');
    expect(dead[0]!.properties.headers!['x-death']![0]!.reason).toBe('rejected');

    // With a reply address, the sender gets a bad-request reply and the message is acked, not dead-lettered.
    const reply = deferred<ConsumeMessage>();
    const rch = await raw.createChannel();
    await rch.consume(DIRECT_REPLY_TO, (m) => m && reply.resolve(m), { noAck: true });
    rch.sendToQueue(requests, Buffer.from('{broken'), {
      contentType: 'application/json',
      correlationId: 'c1',
      replyTo: DIRECT_REPLY_TO,
      messageId: 'bad-request',
    });
    const answer = await reply.promise;
    await rch.close();
    expect(answer.properties.headers!['rpc-error']).toBe('bad-request');
    await expect(firstValueFrom(client().send(requests, { ok: 1 }))).resolves.toEqual({ ok: 1 });
    // A sentinel dead-lettered after all that: had the bad request been dead-lettered, it would come first.
    ch.sendToQueue(events, Buffer.from('{broken'), {
      contentType: 'application/json',
      messageId: 'sentinel',
    });
    await deadLog.until('dead', 2);
    expect(dead.map((m) => m.properties.messageId)).toEqual(['bad-event', 'sentinel']);
    expect((await ch.checkQueue(requests)).messageCount).toBe(0);
  });
});
