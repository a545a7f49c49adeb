// Load sharing on the in-memory transport: queue groups as on NATS, for requests and events.
import { Controller, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MemoryBroker,
  MemoryRpcClient,
  MemoryRpcServer,
  type MemoryRpcServerOptions,
} from '../../../lib/testing/index.js';

/** What each server handled, by server name. */
type Handled = Map<string, Array<{ pattern: string; data: unknown }>>;

function workerModule(name: string, handled: Handled) {
  const record = (pattern: string, data: unknown) => {
    if (!handled.has(name)) handled.set(name, []);
    handled.get(name)!.push({ pattern, data });
  };
  @Controller()
  class Worker {
    @MessagePattern('job')
    job(@Payload() n: number): string {
      record('job', n);
      return name;
    }

    @EventPattern('tick')
    tick(@Payload() n: number): void {
      record('tick', n);
    }

    @MessagePattern('audit', { queue: false })
    audit(@Payload() n: number): string {
      record('audit', n);
      return name;
    }

    /** A round trip published after an event: once its reply is back, that event reached its handlers. */
    @MessagePattern('barrier', { queue: false })
    barrier(): string {
      return name;
    }
  }
  @Module({ controllers: [Worker] })
  class WorkerModule {}
  return WorkerModule;
}

describe('in-memory transport: queue groups', () => {
  const apps: INestMicroservice[] = [];
  const clients: MemoryRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function start(
    broker: MemoryBroker,
    handled: Handled,
    servers: Record<string, MemoryRpcServerOptions>,
  ) {
    for (const [name, options] of Object.entries(servers)) {
      const app = await NestFactory.createMicroservice(workerModule(name, handled), {
        strategy: new MemoryRpcServer({ ...options, broker }),
        logger: false,
      });
      await app.listen();
      apps.push(app);
    }
    const client = new MemoryRpcClient({ broker });
    clients.push(client);
    return client;
  }

  const of = (handled: Handled, name: string, pattern: string) =>
    (handled.get(name) ?? []).filter((h) => h.pattern === pattern).map((h) => h.data);

  it('sends each request to exactly one server of the default group, and shares the load', async () => {
    const handled: Handled = new Map();
    const client = await start(new MemoryBroker(), handled, { a: {}, b: {}, c: {} });
    const repliedBy = await Promise.all(
      Array.from({ length: 30 }, (_, i) => firstValueFrom(client.send<string>('job', i))),
    );
    const ids = ['a', 'b', 'c'].flatMap((name) => of(handled, name, 'job'));
    expect(ids.sort((x, y) => (x as number) - (y as number))).toEqual(
      Array.from({ length: 30 }, (_, i) => i),
    );
    for (const name of ['a', 'b', 'c']) {
      expect(of(handled, name, 'job').length).toBeGreaterThan(0);
      expect(repliedBy.filter((r) => r === name)).toHaveLength(of(handled, name, 'job').length);
    }
  });

  it('sends each event to one server per group, to every group, and to every server outside a group', async () => {
    const handled: Handled = new Map();
    const client = await start(new MemoryBroker(), handled, {
      a1: { queue: 'a' },
      a2: { queue: 'a' },
      b1: { queue: 'b' },
      solo1: { queue: false },
      solo2: { queue: false },
    });
    for (let n = 0; n < 4; n++) await lastValueFrom(client.emit('tick', n), { defaultValue: undefined });
    await firstValueFrom(client.send('barrier', null));
    const ticks = (name: string) => of(handled, name, 'tick');
    expect([...ticks('a1'), ...ticks('a2')].sort()).toEqual([0, 1, 2, 3]);
    expect(ticks('a1').length).toBeGreaterThan(0);
    expect(ticks('a2').length).toBeGreaterThan(0);
    expect(ticks('b1')).toEqual([0, 1, 2, 3]);
    expect(ticks('solo1')).toEqual([0, 1, 2, 3]);
    expect(ticks('solo2')).toEqual([0, 1, 2, 3]);
  });

  it('lets every server answer with queue: false (per handler too), and the client keeps the first reply', async () => {
    const handled: Handled = new Map();
    const client = await start(new MemoryBroker(), handled, { a: {}, b: {} });
    await expect(firstValueFrom(client.send('audit', 7))).resolves.toMatch(/^[ab]$/);
    await firstValueFrom(client.send('barrier', null));
    expect(of(handled, 'a', 'audit')).toEqual([7]);
    expect(of(handled, 'b', 'audit')).toEqual([7]);
    expect(client.pendingCount).toBe(0);
  });

  it('refuses a queue option that is neither a name nor false', () => {
    expect(() => new MemoryRpcServer({ queue: '' })).toThrow(TypeError);
    expect(() => new MemoryRpcServer({ queue: 7 as unknown as string })).toThrow(TypeError);
    expect(() => new MemoryRpcServer({ broker: {} as MemoryBroker })).toThrow(TypeError);
    expect(() => new MemoryRpcClient({ broker: 'default' as unknown as MemoryBroker })).toThrow(TypeError);
  });
});
