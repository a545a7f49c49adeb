import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { finalize, interval, lastValueFrom, take, toArray } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';

/** `${prefix}.count`: 0..9, one value every few ms; `${prefix}.tick`: forever, counting tear-downs. */
function streamModule(prefix: string, torndown: { count: number }) {
  @Controller()
  class Streams {
    @MessagePattern(`${prefix}.count`)
    count() {
      return interval(5).pipe(take(10));
    }
    @MessagePattern(`${prefix}.tick`)
    tick() {
      return interval(10).pipe(finalize(() => torndown.count++));
    }
  }
  @Module({ controllers: [Streams] })
  class StreamsModule {}
  return StreamsModule;
}

describe('NATS streams: integrity and cancellation', () => {
  const apps: INestMicroservice[] = [];
  const clients: NatsRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function startServer(prefix: string, torndown: { count: number }, queue?: false) {
    const server = new NatsRpcServer({ servers: NATS_URL, ...(queue === false ? { queue } : {}) });
    const app = await NestFactory.createMicroservice(streamModule(prefix, torndown), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    return server;
  }

  it('two queue: false instances streaming 0..9 give the caller exactly 0..9', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const torndown = { count: 0 };
    await startServer(prefix, torndown, false);
    await startServer(prefix, torndown, false);
    const client = new NatsRpcClient({ servers: NATS_URL });
    clients.push(client);
    for (let i = 0; i < 3; i++) {
      expect(await lastValueFrom(client.send(`${prefix}.count`, null).pipe(toArray()))).toEqual([
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
      ]);
    }
    expect(client.counters.streamFramesDropped).toBeGreaterThan(0);
  });

  it('stops a stream on the server when its caller unsubscribes (cancel message)', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const torndown = { count: 0 };
    const server = await startServer(prefix, torndown);
    const client = new NatsRpcClient({ servers: NATS_URL });
    clients.push(client);
    await new Promise<void>((resolve) => {
      const sub = client.send(`${prefix}.tick`, null).subscribe((n) => {
        if (n === 2) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await expect.poll(() => torndown.count).toBe(1);
    expect(server.counters.streamsCancelled).toBe(1);
  });

  it('stops a stream whose caller is gone without a word, at maxStreamDuration', async () => {
    const prefix = `s${randomUUID().slice(0, 8)}`;
    const torndown = { count: 0 };
    const server = new NatsRpcServer({ servers: NATS_URL, maxStreamDuration: 300 });
    const app = await NestFactory.createMicroservice(streamModule(prefix, torndown), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    const client = new NatsRpcClient({ servers: NATS_URL });
    await new Promise<void>((resolve) => {
      client.send(`${prefix}.tick`, null).subscribe({
        next: (n) => {
          // the caller's process dies: its connection closes, no cancel goes out
          if (n === 1) void client.unwrap<{ close(): Promise<void> }>().close().then(resolve);
        },
        error: () => undefined,
      });
    });
    await expect.poll(() => torndown.count, { timeout: 5_000 }).toBe(1);
    expect(server.counters.streamsExpired).toBe(1);
    expect(server.counters.streamsCancelled).toBe(0);
  });
});
