import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { RpcRemoteError } from '../../../lib/index.js';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { type FloodChild, mib, startFloodChild } from '../support/flood.js';
import { rabbitmqctl } from '../support/rabbitmqctl.js';
import { Gate } from '../support/sync.js';

describe('RabbitMQ flood', () => {
  const children: FloodChild[] = [];
  const apps: INestMicroservice[] = [];
  const queues: string[] = [];
  afterEach(async () => {
    for (const child of children.splice(0)) child.kill();
    await Promise.all(apps.splice(0).map((a) => a.close()));
    const conn = await amqp.connect(AMQP_URL);
    const ch = await conn.createChannel();
    for (const q of queues.splice(0)) await ch.deleteQueue(q).catch(() => undefined);
    await conn.close();
  });

  it('keeps neither body nor subscriber of requests that time out while the connection is blocked', async () => {
    const pattern = `flood${randomUUID().slice(0, 8)}.work`;
    queues.push(pattern);
    @Controller()
    class Work {
      @MessagePattern(pattern)
      work() {
        return 1;
      }
    }
    @Module({ controllers: [Work] })
    class WorkModule {}
    const app = await NestFactory.createMicroservice(WorkModule, {
      strategy: new RabbitRpcServer({ urls: [AMQP_URL] }),
      logger: false,
    });
    await app.listen();
    apps.push(app);
    const n = 500;
    const size = 64 * 1024;
    const client = await startFloodChild({ role: 'rabbit-client', url: AMQP_URL });
    children.push(client);
    await expect(client.call('send', { pattern })).resolves.toBe(1);

    const before = await client.heap();
    onTestFinished(() => rabbitmqctl('set_vm_memory_high_watermark', '0.4').then(() => undefined));
    let during;
    let flood: { codes: Record<string, number>; pending: number; counters: Record<string, number> };
    try {
      // A memory high watermark of 0 raises the memory alarm: the broker blocks a publishing connection.
      await rabbitmqctl('set_vm_memory_high_watermark', '0');
      await client.call('emit', { pattern });
      await client.call('status', { status: 'blocked' });
      flood = await client.call('flood', { pattern, n, size, timeout: 300 });
      during = await client.heap();
    } finally {
      await rabbitmqctl('set_vm_memory_high_watermark', '0.4');
    }
    await client.call('status', { status: 'unblocked' });

    const growth = during.total - before.total;
    console.log(
      `RabbitMQ client, ${n} requests × ${size} B timed out on a blocked connection: heap + buffers grew by ${mib(growth)} (heapUsed ${mib(during.heapUsed - before.heapUsed)}, arrayBuffers ${mib(during.arrayBuffers - before.arrayBuffers)}); N × S = ${mib(n * size)}`,
    );
    expect(flood.codes).toEqual({ RPC_TIMEOUT: n });
    expect(flood.pending).toBe(0);
    // nothing of the timed-out requests is left, not even a few of them; unbounded, all of them (N × S)
    expect(growth).toBeLessThan(10 * size);
    expect(flood.counters.requestsDroppedUnsent).toBe(n);
  }, 120_000);

  it('with noAck, answers requests beyond maxQueued at once as overloaded (nothing bounds what the broker pushes)', async () => {
    const pattern = `flood${randomUUID().slice(0, 8)}.noack`;
    queues.push(pattern);
    const gate = new Gate();
    @Controller()
    class Held {
      @MessagePattern(pattern)
      async work(@Payload() n: number) {
        await gate.pass();
        return n;
      }
    }
    @Module({ controllers: [Held] })
    class HeldModule {}
    const server = new RabbitRpcServer({ urls: [AMQP_URL], noAck: true, maxConcurrency: 1, maxQueued: 2 });
    const app = await NestFactory.createMicroservice(HeldModule, { strategy: server, logger: false });
    await app.listen();
    apps.push(app);
    const client = new RabbitRpcClient({ urls: [AMQP_URL] });
    await client.connect();
    try {
      const outcomes = Array.from({ length: 10 }, (_, i) =>
        lastValueFrom(client.send(pattern, i)).then(
          () => 'ok',
          (err) => (err instanceof RpcRemoteError ? err.kind : String(err)),
        ),
      );
      await expect.poll(() => server.counters.requestsRefused).toBe(7);
      gate.open();
      const kinds = await Promise.all(outcomes);
      expect(kinds.filter((k) => k === 'ok')).toHaveLength(3);
      expect(kinds.filter((k) => k === 'overloaded')).toHaveLength(7);
    } finally {
      await client.close();
    }
  });
});
