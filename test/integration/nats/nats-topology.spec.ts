import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcPayloadTooLargeError, RpcRemoteError } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer, type NatsRpcServerOptions } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';

/** Counts how often each server instance handled a request. */
function countingModule(prefix: string, instance: string, counts: Map<string, number>) {
  const bump = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  @Controller()
  class Counting {
    @MessagePattern(`${prefix}.who`)
    who() {
      bump(instance);
      return instance;
    }
    @MessagePattern(`${prefix}.own-queue`, { queue: 'shared-by-handler' })
    ownQueue() {
      bump(`own:${instance}`);
      return instance;
    }
    @MessagePattern(`${prefix}.size`)
    size(@Payload() data: string) {
      return data.length === 1 ? 'x'.repeat(2 * 1024 * 1024) : data.length;
    }
  }
  @Module({ controllers: [Counting] })
  class CountingModule {}
  return CountingModule;
}

describe('NATS topology', () => {
  const apps: INestMicroservice[] = [];
  const clients: NatsRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function startServers(
    prefix: string,
    counts: Map<string, number>,
    options: Partial<NatsRpcServerOptions>[],
  ) {
    for (const [i, opts] of options.entries()) {
      const app = await NestFactory.createMicroservice(countingModule(prefix, `s${i}`, counts), {
        strategy: new NatsRpcServer({ servers: NATS_URL, ...opts }),
        logger: false,
      });
      await app.listen();
      apps.push(app);
    }
    const client = new NatsRpcClient({ servers: NATS_URL });
    clients.push(client);
    return client;
  }

  it('joins a queue group by default, so one instance answers each request', async () => {
    const prefix = `q${randomUUID().slice(0, 8)}`;
    const counts = new Map<string, number>();
    const client = await startServers(prefix, counts, [{}, {}]);
    await Promise.all(Array.from({ length: 40 }, () => firstValueFrom(client.send(`${prefix}.who`, {}))));
    expect((counts.get('s0') ?? 0) + (counts.get('s1') ?? 0)).toBe(40);
  });

  it('with queue: false every instance answers and the client keeps the first reply', async () => {
    const prefix = `q${randomUUID().slice(0, 8)}`;
    const counts = new Map<string, number>();
    const client = await startServers(prefix, counts, [{ queue: false }, { queue: false }]);
    const replies = await Promise.all(
      Array.from({ length: 10 }, () => firstValueFrom(client.send(`${prefix}.who`, {}))),
    );
    expect(replies.every((r) => r === 's0' || r === 's1')).toBe(true);
    await expect.poll(() => (counts.get('s0') ?? 0) + (counts.get('s1') ?? 0)).toBe(20);
    expect(counts.get('s0')).toBe(10);
    expect(client.pendingCount).toBe(0);
  });

  it('lets a handler choose its own queue group over the server default', async () => {
    const prefix = `q${randomUUID().slice(0, 8)}`;
    const counts = new Map<string, number>();
    // Different server-wide groups, same handler-level group: still one answer per request.
    const client = await startServers(prefix, counts, [{ queue: 'a' }, { queue: 'b' }]);
    await Promise.all(
      Array.from({ length: 20 }, () => firstValueFrom(client.send(`${prefix}.own-queue`, {}))),
    );
    expect((counts.get('own:s0') ?? 0) + (counts.get('own:s1') ?? 0)).toBe(20);
    await Promise.all(Array.from({ length: 5 }, () => firstValueFrom(client.send(`${prefix}.who`, {}))));
    // both groups answer each request; the caller takes the first, so the second may still be running
    await expect.poll(() => (counts.get('s0') ?? 0) + (counts.get('s1') ?? 0)).toBe(10);
  });

  it('refuses an oversize request with RpcPayloadTooLargeError and an oversize reply with a typed remote error', async () => {
    const prefix = `q${randomUUID().slice(0, 8)}`;
    const client = await startServers(prefix, new Map(), [{}]);
    const err = await firstValueFrom(client.send(`${prefix}.size`, 'y'.repeat(2 * 1024 * 1024))).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(RpcPayloadTooLargeError);
    expect(err.limit).toBeGreaterThan(0);
    const remote = await firstValueFrom(client.send(`${prefix}.size`, 'y')).catch((e) => e);
    expect(remote).toBeInstanceOf(RpcRemoteError);
    expect(remote.kind).toBe('too-large');
    await expect(firstValueFrom(client.send(`${prefix}.size`, 'abc'))).resolves.toBe(3);
  });
});
