import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload } from '@nestjs/microservices';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RpcRecordBuilder } from '../../../lib/index.js';
import {
  RabbitRpcClient,
  RabbitRpcContext,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';

const prefix = `t${randomUUID().slice(0, 8)}-acks`;
const held = `${prefix}.held`;
const quick = `${prefix}.quick`;

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * `held` waits until the test releases it while `hold` is set (`entered` resolves once `expect` of them
 * are waiting); `quick` answers at once. Both count what they handle and its redeliveries, and keep the
 * context's channel (an RPC on it is queued behind the server's acks sent before it).
 */
function ackController() {
  const seen = { redelivered: 0, held: 0, quick: 0, channel: undefined as Channel | undefined };
  const gate = { hold: true, expect: 1, waiting: 0, entered: deferred(), release: deferred() };
  const note = (ctx: RabbitRpcContext) => {
    if (ctx.isRedelivered()) seen.redelivered++;
    seen.channel = ctx.getChannelRef();
  };
  @Controller()
  class Acks {
    @MessagePattern(held)
    async held(@Payload() n: number, @Ctx() ctx: RabbitRpcContext): Promise<number> {
      seen.held++;
      note(ctx);
      if (gate.hold) {
        if (++gate.waiting === gate.expect) gate.entered.resolve();
        await gate.release.promise;
      }
      return n;
    }
    @MessagePattern(quick)
    quick(@Payload() n: number, @Ctx() ctx: RabbitRpcContext): number {
      seen.quick++;
      note(ctx);
      return n;
    }
  }
  return { controller: Acks, seen, gate };
}

describe('RabbitMQ batched acks', () => {
  let raw: ChannelModel;
  let ch: Channel;
  let client: RabbitRpcClient;
  let ackSpy: ReturnType<typeof vi.spyOn>;
  const apps: INestMicroservice[] = [];

  const start = async (controller: unknown, prefetch: number, options: RabbitRpcServerOptions = {}) => {
    @Module({ controllers: [controller as never] })
    class AckModule {}
    const server = new RabbitRpcServer({ urls: [AMQP_URL], prefetch, ...options });
    const app = await NestFactory.createMicroservice(AckModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    return { app, server };
  };
  /** Resolves once the broker has handled what the server's channel sent before (its acks among it). */
  const acksArrived = (acks: ReturnType<typeof ackController>) => acks.seen.channel!.checkQueue(quick);
  const call = (pattern: string, n: number) =>
    firstValueFrom(client.send<number>(pattern, new RpcRecordBuilder(n).setTimeout(10_000).build()));

  beforeAll(async () => {
    raw = await amqp.connect(AMQP_URL);
    ch = await raw.createChannel();
    // Every amqplib channel shares this prototype: the servers' acks go through it.
    ackSpy = vi.spyOn(Object.getPrototypeOf(ch) as Channel, 'ack');
    client = new RabbitRpcClient({ urls: [AMQP_URL] });
    await client.connect();
  });
  afterAll(async () => {
    ackSpy.mockRestore();
    await client.close();
    for (const app of apps) await app.close().catch(() => undefined);
    for (const q of [held, quick]) await ch.deleteQueue(q).catch(() => undefined);
    await raw.close();
  });

  it('acks requests that finish together with one multiple ack, and none comes back', async () => {
    const acks = ackController();
    const { app } = await start(acks.controller, 20);
    acks.gate.expect = 20;
    ackSpy.mockClear();
    const calls = Array.from({ length: 20 }, (_, i) => call(held, i));
    await acks.gate.entered.promise; // all 20 (the whole prefetch) are in their handlers
    acks.gate.release.resolve(); // they finish in one turn
    await expect(Promise.all(calls)).resolves.toEqual(Array.from({ length: 20 }, (_, i) => i));
    await expect(call(quick, 99)).resolves.toBe(99); // delivered only once acks freed the prefetch
    await acksArrived(acks);
    expect(ackSpy.mock.calls.some((args: unknown[]) => args[1] === true)).toBe(true);
    expect(ackSpy.mock.calls.length).toBeLessThan(10); // one per request would be 21
    await app.close();
    expect(acks.seen.redelivered).toBe(0);
    expect(acks.seen.held).toBe(20);
  });

  it('a request still running holds back no other ack (prefetch 2: one slot left)', async () => {
    const acks = ackController();
    const { app } = await start(acks.controller, 2);
    const slow = call(held, -1);
    await acks.gate.entered.promise;
    acks.gate.hold = false;
    // Each needs the one free slot: an ack held back behind the slow request would stop them all.
    for (let i = 0; i < 5; i++) await expect(call(quick, i)).resolves.toBe(i);
    acks.gate.release.resolve();
    await expect(slow).resolves.toBe(-1);
    await app.close();
    expect(acks.seen.redelivered).toBe(0);
  });

  it('a server that dies redelivers only the request still running, never a finished one', async () => {
    const acks = ackController();
    const { server } = await start(acks.controller, 10, { reconnect: false });
    const slow = call(held, -1);
    await acks.gate.entered.promise;
    acks.gate.hold = false;
    for (let i = 0; i < 5; i++) await expect(call(quick, i)).resolves.toBe(i);
    await expect(call(held, 7)).resolves.toBe(7); // finished after the slow one arrived, on its queue
    await acksArrived(acks);
    // Die without closing: the broker requeues what this connection left unacked.
    const model = server.unwrap<ChannelModel>() as unknown as {
      connection: { stream: { destroy(err: Error): void } };
    };
    model.connection.stream.destroy(new Error('the test cut the socket'));
    const second = ackController();
    second.gate.hold = false;
    await start(second.controller, 10);
    await expect(slow).resolves.toBe(-1); // answered by the second server, from the redelivery
    expect(second.seen).toMatchObject({ redelivered: 1, held: 1, quick: 0 });
    acks.gate.release.resolve();
  });
});
