import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { finalize, interval, startWith, take } from 'rxjs';
import { afterEach, describe, expect, it, onTestFinished } from 'vitest';
import { RpcRecordBuilder, RpcStreamRestartedError, RpcTimeoutError } from '../../../lib/index.js';
import {
  RabbitRpcClient,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { startTcpProxy } from '../support/tcp-proxy.js';

/** `${prefix}.count`: 0..9, one value every 100 ms, counting runs; `.tick` and `.sparse`: forever, counting tear-downs. */
function streamModule(prefix: string, seen: { runs: number; torndown: number }) {
  @Controller()
  class Streams {
    @MessagePattern(`${prefix}.count`)
    count() {
      seen.runs++;
      return interval(100).pipe(take(10));
    }
    @MessagePattern(`${prefix}.tick`)
    tick() {
      return interval(10).pipe(finalize(() => seen.torndown++));
    }
    @MessagePattern(`${prefix}.sparse`)
    sparse() {
      return interval(5_000).pipe(
        startWith(-1),
        finalize(() => seen.torndown++),
      );
    }
  }
  @Module({ controllers: [Streams] })
  class StreamsModule {}
  return StreamsModule;
}

const zeroTo = (n: number) => Array.from({ length: n }, (_, i) => i);

describe('RabbitMQ streams: integrity on redelivery, and cancellation', () => {
  const apps: INestMicroservice[] = [];
  const clients: RabbitRpcClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  async function start(prefix: string, options: RabbitRpcServerOptions = {}) {
    const seen = { runs: 0, torndown: 0 };
    const server = new RabbitRpcServer({ urls: [AMQP_URL], ...options });
    const app = await NestFactory.createMicroservice(streamModule(prefix, seen), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    apps.push(app);
    const client = new RabbitRpcClient({ urls: [AMQP_URL] });
    clients.push(client);
    return { server, client, seen };
  }

  /** Streams `${prefix}.count` and cuts the server's connection after value 2: RabbitMQ redelivers the request. */
  async function streamThroughOutage(record: unknown) {
    const prefix = `st${randomUUID().slice(0, 8)}`;
    const node = await startTcpProxy(Number(new URL(AMQP_URL).port));
    onTestFinished(() => node.kill());
    // the server reaches the broker through the proxy first; once it dies, recovery takes the next URL
    const { client, seen } = await start(prefix, {
      urls: [`amqp://guest:guest@127.0.0.1:${node.port}`, AMQP_URL],
    });
    const values: unknown[] = [];
    const outcome = await new Promise<unknown>((resolve) =>
      client.send(`${prefix}.count`, record).subscribe({
        next: (v) => {
          values.push(v);
          if (v === 2) void node.kill();
        },
        error: resolve,
        complete: () => resolve('complete'),
      }),
    );
    return { outcome, values, runs: seen.runs };
  }

  it('fails a started stream with RpcStreamRestartedError when a redelivery starts it over, never repeating a value', async () => {
    const { outcome, values, runs } = await streamThroughOutage(null);
    expect(runs).toBe(2);
    expect(outcome).toBeInstanceOf(RpcStreamRestartedError);
    expect(values).toEqual(zeroTo(values.length)); // a prefix of 0..9, each value once
  });

  it('restarts the stream from its first value when the call opted in', async () => {
    const { outcome, values, runs } = await streamThroughOutage(
      new RpcRecordBuilder(null).restartStream().build(),
    );
    expect(runs).toBe(2);
    expect(outcome).toBe('complete');
    const before = values.slice(0, -10);
    expect(before.length).toBeGreaterThanOrEqual(3);
    expect(before).toEqual(zeroTo(before.length)); // the first attempt's values, once
    expect(values.slice(-10)).toEqual(zeroTo(10)); // then the whole new attempt
  });

  it('stops a stream on the server when its caller unsubscribes (cancel message)', async () => {
    const prefix = `st${randomUUID().slice(0, 8)}`;
    const { server, client, seen } = await start(prefix);
    await new Promise<void>((resolve) => {
      const sub = client.send(`${prefix}.tick`, null).subscribe((n) => {
        if (n === 2) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    await expect.poll(() => seen.torndown).toBe(1);
    expect(server.counters.streamsCancelled).toBe(1);
  });

  it('stops a stream whose caller timed out (cancel message)', async () => {
    const prefix = `st${randomUUID().slice(0, 8)}`;
    const { server, client, seen } = await start(prefix);
    // a value at once, then one every 5 s: the caller's 200 ms per-message timeout fires first
    const record = new RpcRecordBuilder(null).setTimeout(200).build();
    const error = await new Promise((resolve) =>
      client.send(`${prefix}.sparse`, record).subscribe({ error: resolve }),
    );
    expect(error).toBeInstanceOf(RpcTimeoutError);
    await expect.poll(() => seen.torndown).toBe(1);
    expect(server.counters.streamsCancelled).toBe(1);
  });
});
