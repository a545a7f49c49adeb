import { Controller, Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, EventPattern, MessagePattern, Payload } from '@nestjs/microservices';
import { RpcContext } from '../../../lib/core/rpc-context.js';
import { RpcRecord, RpcRecordBuilder, RpcResponse } from '../../../lib/core/record-builder.js';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  RpcConnectionError,
  RpcInvalidPatternError,
  RpcRemoteError,
  RpcTimeoutError,
} from '../../../lib/core/errors.js';
import { DEFAULT_TIMEOUT, MAX_TIMEOUT } from '../../../lib/core/options.js';
import { Headers } from '../../../lib/core/wire.js';
import { FakeBroker, FakeClient, FakeServer } from './fake-transport.js';

const events: unknown[] = [];
let release: () => void = () => undefined;
let running = 0;
let maxRunning = 0;

@Controller()
class TestController {
  @MessagePattern('echo')
  echo(@Payload() data: unknown) {
    return data;
  }
  @MessagePattern('spoof')
  spoof() {
    return new RpcResponse(1, { headers: { 'rpc-stream': 'next', 'rpc-error': 'internal', 'x-ok': 'yes' } });
  }
  @MessagePattern('headers')
  headers(@Ctx() ctx: RpcContext) {
    return ctx.getHeaders();
  }
  @MessagePattern('big')
  big() {
    return 'x'.repeat(1_000);
  }
  @MessagePattern('circular')
  circular() {
    const o: Record<string, unknown> = {};
    o.self = o;
    return o;
  }
  @MessagePattern('hold')
  async hold() {
    running++;
    maxRunning = Math.max(maxRunning, running);
    await new Promise<void>((r) => {
      const prev = release;
      release = () => (prev(), r());
    });
    running--;
    return 'released';
  }
  @EventPattern('evt')
  evt(@Payload() data: unknown) {
    events.push(data);
  }
}

@Module({ controllers: [TestController] })
class TestModule {}

async function start(broker: FakeBroker, options = {}): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(TestModule, {
    strategy: new FakeServer(broker, options),
    logger: false,
  });
  await app.listen();
  return app;
}

describe('RpcClient and RpcServer over a fake transport', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    release();
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('connects once under concurrent calls and retries after a failed attempt', async () => {
    const client = new FakeClient(new FakeBroker());
    client.failNextConnect = true;
    await expect(client.connect()).rejects.toBeInstanceOf(RpcConnectionError);
    await Promise.all([client.connect(), client.connect(), client.connect()]);
    expect(client.connects).toBe(2);
  });

  it('replies no-handler when the delivered pattern has no handler', async () => {
    const broker = new FakeBroker();
    const app = await start(broker);
    apps.push(app);
    const server = (app as unknown as { serverInstance: FakeServer }).serverInstance;
    const client = new FakeClient(broker);
    await client.connect();
    broker.routes.set('ghost', (msg) => {
      const inbound = { ...msg, pattern: 'ghost' };
      void (server as any).dispatch(inbound, {});
    });
    const err = await firstValueFrom(client.send('ghost', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('no-handler');
    expect(err.message).toContain('"ghost"');
  });

  it('runs an event handler for an emitted event without replying', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker));
    const client = new FakeClient(broker);
    await lastValueFrom(client.emit('evt', { n: 1 }), { defaultValue: undefined });
    await new Promise((r) => setImmediate(r));
    expect(events).toContainEqual({ n: 1 });
    expect(broker.published.filter((m) => m.destination === 'inbox')).toHaveLength(0);
  });

  it('replies with a too-large error when the reply exceeds the broker limit', async () => {
    const broker = new FakeBroker();
    broker.maxPayload = 500;
    apps.push(await start(broker));
    const client = new FakeClient(broker);
    const err = await firstValueFrom(client.send('big', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('too-large');
  });

  it('replies with an internal error when the reply cannot be encoded', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker));
    const err = await firstValueFrom(new FakeClient(broker).send('circular', 1)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('internal');
  });

  it('bounds concurrent handlers with maxConcurrency', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker, { maxConcurrency: 2 }));
    const client = new FakeClient(broker);
    maxRunning = 0;
    const replies = Array.from({ length: 5 }, () => firstValueFrom(client.send('hold', 1)));
    while (running < 2) await new Promise((r) => setImmediate(r));
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    expect(running).toBe(2);
    let settled = false;
    const all = Promise.all(replies).finally(() => (settled = true));
    while (!settled) {
      release();
      await new Promise((r) => setImmediate(r));
    }
    await expect(all).resolves.toEqual(Array(5).fill('released'));
    expect(maxRunning).toBe(2);
  });

  it('refuses object patterns at startup unless a destination mapper is given', async () => {
    @Controller()
    class ObjectPatterns {
      @MessagePattern({ cmd: 'sum' })
      sum(@Payload() d: number[]) {
        return d.reduce((a, b) => a + b, 0);
      }
    }
    @Module({ controllers: [ObjectPatterns] })
    class ObjectModule {}
    const broker = new FakeBroker();
    const app = await NestFactory.createMicroservice(ObjectModule, {
      strategy: new FakeServer(broker),
      logger: false,
    });
    await expect(app.listen()).rejects.toBeInstanceOf(RpcInvalidPatternError);
    await app.close();

    const mapped = await NestFactory.createMicroservice(ObjectModule, {
      strategy: new FakeServer(new FakeBroker(), { destination: (p) => `math.${p.cmd}` }),
      logger: false,
    });
    const mappedBroker = (mapped as any).serverInstance.unwrap() as FakeBroker;
    await mapped.listen();
    apps.push(mapped);
    const client = new FakeClient(mappedBroker, { destination: (p) => `math.${p.cmd}` });
    await expect(firstValueFrom(client.send({ cmd: 'sum' }, [1, 2]))).resolves.toBe(3);
  });

  it('marks stream messages on the wire as the protocol says', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker));
    await firstValueFrom(new FakeClient(broker).send('echo', 'hi'));
    const reply = broker.published.find((m) => m.destination === 'inbox')!;
    expect(reply.headers[Headers.stream]).toBeUndefined();
    expect(reply.contentType).toBe('text/plain');
  });
});

describe('RpcClient defaults and options', () => {
  it('times out after DEFAULT_TIMEOUT when neither client nor call sets one', async () => {
    vi.useFakeTimers();
    try {
      const client = new FakeClient(new FakeBroker()); // nobody serves 'void', so no reply ever comes
      const result = firstValueFrom(client.send('void', 1)).catch((e) => e);
      await vi.advanceTimersByTimeAsync(DEFAULT_TIMEOUT - 1);
      expect(client.pendingCount).toBe(1);
      await vi.advanceTimersByTimeAsync(1);
      const err = await result;
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect(err.timeoutMs).toBe(30_000);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a negative client timeout', () => {
    expect(() => new FakeClient(new FakeBroker(), { timeout: -5 })).toThrow(RangeError);
  });

  it('runs the serializer and deserializer on payloads, without an envelope', async () => {
    const broker = new FakeBroker();
    const app = await NestFactory.createMicroservice(TestModule, {
      strategy: new FakeServer(broker, {
        deserializer: { deserialize: (v: { wrapped: unknown }) => v.wrapped },
        serializer: { serialize: (v: unknown) => ({ reply: v }) },
      }),
      logger: false,
    });
    await app.listen();
    try {
      const client = new FakeClient(broker, {
        serializer: { serialize: (v: unknown) => ({ wrapped: v }) },
        deserializer: { deserialize: (v: { reply: unknown }) => v.reply },
      });
      await expect(firstValueFrom(client.send('echo', [1, 2]))).resolves.toEqual([1, 2]);
      const request = broker.published.find((m) => m.destination === 'echo')!;
      expect(JSON.parse(Buffer.from(request.body).toString())).toEqual({ wrapped: [1, 2] });
    } finally {
      await app.close();
    }
  });
});

describe('review fixes', () => {
  const apps: INestMicroservice[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
  });

  it('does not let application headers impersonate wire headers, in either direction', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker));
    const client = new FakeClient(broker, { timeout: 2_000 });
    const reply = await lastValueFrom(client.send('spoof', 1).pipe(toArray()));
    expect(reply).toEqual([1]); // completed, not waiting for more, and no remote error
    const seen = await firstValueFrom(
      client.send(
        'headers',
        new RpcRecordBuilder(1).setHeaders({ 'rpc-reply-mode': 'event', 'x-a': 'b' }).build(),
      ),
    );
    expect(seen['x-a']).toBe('b');
    expect(seen['rpc-reply-mode']).toBeUndefined();
  });

  it('refuses timeouts that Node timers cannot hold, wherever they are given', async () => {
    expect(() => new FakeClient(new FakeBroker(), { timeout: MAX_TIMEOUT + 1 })).toThrow(RangeError);
    expect(() => new RpcRecordBuilder(1).setTimeout(30 * 24 * 3600_000)).toThrow(RangeError);
    const err = await firstValueFrom(
      new FakeClient(new FakeBroker()).send('x', new RpcRecord(1, { timeout: Number.NaN })),
    ).catch((e) => e);
    expect(err).toBeInstanceOf(RangeError);
  });

  it('reconnects after a close that a send overtook, without the close tearing down the new connection', async () => {
    const broker = new FakeBroker();
    apps.push(await start(broker));
    const client = new FakeClient(broker, { timeout: 2_000 });
    await client.connect();
    const closing = client.close();
    const reply = firstValueFrom(client.send('echo', 'after close'));
    await closing;
    await expect(reply).resolves.toBe('after close');
    await expect(firstValueFrom(client.send('echo', 'still connected'))).resolves.toBe('still connected');
    expect(client.connects).toBe(2);
  });

  it('closes what listen() opened when close() comes while it is still starting', async () => {
    const broker = new FakeBroker();
    const server = new FakeServer(broker);
    let open!: () => void;
    server.startGate = new Promise((r) => (open = r));
    const entered = new Promise<void>((r) => (server.onStart = r));
    const app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    const listening = app.listen();
    await entered;
    const closing = app.close();
    open();
    await Promise.all([listening, closing]);
    expect(broker.routes.size).toBe(0);
  });

  it('refuses to start listening once closed', async () => {
    const broker = new FakeBroker();
    const server = new FakeServer(broker);
    const app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    await server.close();
    await expect(app.listen()).rejects.toBeInstanceOf(RpcConnectionError);
    expect(broker.routes.size).toBe(0);
    await app.close();
  });
});

describe("Nest's processing hooks", () => {
  it('run around each message, replies included', async () => {
    const broker = new FakeBroker();
    const server = new FakeServer(broker);
    const calls: string[] = [];
    server.setOnProcessingStartHook((_id, ctx, done) => {
      calls.push(`start ${(ctx as RpcContext).getPattern()}`);
      return done();
    });
    server.setOnProcessingEndHook((_id, ctx) => {
      const replied = broker.published.some((m) => m.destination === 'inbox');
      calls.push(`end ${(ctx as RpcContext).getPattern()} replied=${replied}`);
    });
    const app = await NestFactory.createMicroservice(TestModule, { strategy: server, logger: false });
    await app.listen();
    try {
      await expect(firstValueFrom(new FakeClient(broker).send('echo', 1))).resolves.toBe(1);
      await vi.waitFor(() => expect(calls).toHaveLength(2));
      expect(calls).toEqual(['start echo', 'end echo replied=true']);
    } finally {
      await app.close();
    }
  });
});
