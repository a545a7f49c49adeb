import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcConnectionError,
  RpcNoRespondersError,
  RpcRecordBuilder,
  RpcRemoteError,
  RpcTimeoutError,
} from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { EventLog, Gate, mathController } from './app/math.controller.js';

const prefix = `t${randomUUID().slice(0, 8)}`;
const log = new EventLog();
const gate = new Gate();

describe('NATS transport', () => {
  let app: INestMicroservice;
  let client: ClientProxy;
  let raw: NatsConnection;

  beforeAll(async () => {
    @Module({ controllers: mathController(prefix, log, gate) })
    class AppModule {}
    app = await NestFactory.createMicroservice(AppModule, {
      strategy: new NatsRpcServer({ servers: NATS_URL, queue: 'math' }),
      logger: false,
    });
    await app.listen();

    @Module({
      imports: [
        ClientsModule.register([
          { name: 'MATH', customClass: NatsRpcClient, options: { servers: NATS_URL } },
        ]),
      ],
    })
    class ClientModule {}
    const clientApp = await NestFactory.createApplicationContext(ClientModule, { logger: false });
    client = clientApp.get('MATH');
    await client.connect();
    raw = await connect({ servers: NATS_URL });
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
    await raw?.close();
  });

  it('sums synchronously, asynchronously and through an observable', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 2, 3]))).resolves.toBe(6);
    await expect(firstValueFrom(client.send(`${prefix}.sum.async`, [1, 2, 3, 4]))).resolves.toBe(10);
    await expect(firstValueFrom(client.send(`${prefix}.sum.observable`, [5, 5]))).resolves.toBe(10);
  });

  it('streams every emitted value and completes', async () => {
    await expect(lastValueFrom(client.send(`${prefix}.stream`, [1, 2, 3]).pipe(toArray()))).resolves.toEqual([
      1, 2, 3,
    ]);
    await expect(lastValueFrom(client.send(`${prefix}.stream.slow`, 4).pipe(toArray()))).resolves.toEqual([
      0, 1, 2, 3,
    ]);
    await expect(lastValueFrom(client.send(`${prefix}.stream.empty`, 0).pipe(toArray()))).resolves.toEqual(
      [],
    );
  });

  it('keeps payload types: strings, bytes, objects, null', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.echo`, '42'))).resolves.toBe('42');
    await expect(firstValueFrom(client.send(`${prefix}.echo`, { a: [1, { b: null }] }))).resolves.toEqual({
      a: [1, { b: null }],
    });
    await expect(firstValueFrom(client.send(`${prefix}.echo`, null))).resolves.toBeNull();
    const reversed = await firstValueFrom(client.send<Buffer>(`${prefix}.bytes`, Buffer.from([1, 2, 3])));
    expect(Buffer.isBuffer(reversed)).toBe(true);
    expect([...reversed]).toEqual([3, 2, 1]);
  });

  it('answers 10 concurrent requests, each with its own result', async () => {
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) => firstValueFrom(client.send(`${prefix}.sum`, [i, i]))),
    );
    expect(results).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
  });

  it('matches 10 000 concurrent requests to their own payloads', async () => {
    const n = 10_000;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        firstValueFrom(client.send(`${prefix}.echo`, new RpcRecordBuilder({ i }).setTimeout(50_000).build())),
      ),
    );
    expect(results.every((r, i) => (r as { i: number }).i === i)).toBe(true);
    expect((client as NatsRpcClient).pendingCount).toBe(0);
  }, 60_000);

  it('delivers an RpcException payload as RpcRemoteError.error', async () => {
    const err = await firstValueFrom(client.send(`${prefix}.rpc-exception`, {})).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('exception');
    expect(err.error).toEqual({ code: 'E_LIMIT', message: 'limit reached' });
    expect(err.message).toBe('limit reached');
  });

  it('hides the details of other exceptions behind a generic internal error', async () => {
    const err = await firstValueFrom(client.send(`${prefix}.crash`, {})).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('internal');
    expect(JSON.stringify(err.error)).not.toContain('secret');
  });

  it('delivers stream values before a stream error', async () => {
    const seen: number[] = [];
    const err = await lastValueFrom(client.send<number>(`${prefix}.stream.error`, {}).pipe()).catch((e) => e);
    await new Promise<void>((resolve) =>
      client
        .send<number>(`${prefix}.stream.error`, {})
        .subscribe({ next: (v) => seen.push(v), error: () => resolve() }),
    );
    expect(seen).toEqual([1, 2]);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.error).toEqual({ status: 'error', message: 'third value failed' });
  });

  it('rejects a bad DTO through ValidationPipe with a typed remote error', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.order`, { sku: 'A1', quantity: 2 }))).resolves.toBe(
      '2 x A1',
    );
    const err = await firstValueFrom(client.send(`${prefix}.order`, { sku: 7, quantity: 0 })).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.error).toEqual({ code: 'E_VALIDATION', fields: ['sku', 'quantity'] });
  });

  it('passes request headers to the handler and returns reply headers on request', async () => {
    const record = new RpcRecordBuilder({}).setHeaders({ 'x-tenant': 'a' }).withReplyHeaders().build();
    const reply = await firstValueFrom(client.send(`${prefix}.headers`, record));
    expect(reply.data).toEqual({ tenant: 'a', subject: `${prefix}.headers` });
    expect(reply.headers['x-served-by']).toBe('math');
    const bare = await firstValueFrom(client.send(`${prefix}.headers`, {}));
    expect(bare).toEqual({ subject: `${prefix}.headers` });
  });

  it('routes wildcard subjects and tells the handler the concrete subject', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.greet.hello`, 'ann'))).resolves.toBe('hello ann');
    await expect(firstValueFrom(client.send(`${prefix}.greet.hi`, 'bob'))).resolves.toBe('hi bob');
  });

  it('fans an event out to every handler of its pattern', async () => {
    await lastValueFrom(client.emit(`${prefix}.notify`, { n: 1 }), { defaultValue: undefined });
    await Promise.all([log.until('notify.a'), log.until('notify.b')]);
    expect(log.seen.filter((e) => e.pattern.startsWith('notify'))).toEqual(
      expect.arrayContaining([
        { pattern: 'notify.a', data: { n: 1 } },
        { pattern: 'notify.b', data: { n: 1 } },
      ]),
    );
  });

  it('publishes the result elsewhere when an emitted request names replyTo', async () => {
    const record = new RpcRecordBuilder([2, 3]).setReplyTo(`${prefix}.sum.result`).build();
    await lastValueFrom(client.emit(`${prefix}.sum.later`, record), { defaultValue: undefined });
    await log.until('sum.result');
    expect(log.seen.find((e) => e.pattern === 'sum.result')?.data).toBe(5);
  });

  it('fails at once with RpcNoRespondersError when nobody listens', async () => {
    const started = performance.now();
    const err = await firstValueFrom(client.send(`${prefix}.nobody`, {})).catch((e) => e);
    expect(err).toBeInstanceOf(RpcNoRespondersError);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  it('times out with RpcTimeoutError carrying pattern, correlation id and elapsed time', async () => {
    gate.reset();
    const record = new RpcRecordBuilder(1).setTimeout(100).build();
    const err = await firstValueFrom(client.send(`${prefix}.slow`, record)).catch((e) => e);
    gate.open();
    expect(err).toBeInstanceOf(RpcTimeoutError);
    expect(err.pattern).toBe(`${prefix}.slow`);
    expect(err.correlationId).toEqual(expect.any(String));
    expect(err.elapsedMs).toBeGreaterThanOrEqual(100);
    expect(err.timeoutMs).toBe(100);
  });

  it('uses the client timeout option, and waits forever with timeout 0', async () => {
    const short = new NatsRpcClient({ servers: NATS_URL, timeout: 50 });
    try {
      gate.reset();
      const err = await firstValueFrom(short.send(`${prefix}.slow`, 1)).catch((e) => e);
      expect(err).toBeInstanceOf(RpcTimeoutError);
      expect(err.timeoutMs).toBe(50);
      gate.open();

      gate.reset();
      const forever = firstValueFrom(
        short.send(`${prefix}.slow`, new RpcRecordBuilder(7).setTimeout(0).build()),
      );
      await gate.entered;
      gate.open();
      await expect(forever).resolves.toBe(7);
    } finally {
      await short.close();
    }
  });

  it('drops the pending entry when the caller unsubscribes, and ignores the late reply', async () => {
    gate.reset();
    const sub = client.send(`${prefix}.slow`, 3).subscribe();
    await gate.entered;
    expect((client as NatsRpcClient).pendingCount).toBe(1);
    sub.unsubscribe();
    expect((client as NatsRpcClient).pendingCount).toBe(0);
    gate.open();
    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1]))).resolves.toBe(1);
  });

  it('fails pending requests with RpcConnectionError when the client closes', async () => {
    const other = new NatsRpcClient({ servers: NATS_URL });
    gate.reset();
    const pending = firstValueFrom(other.send(`${prefix}.slow`, 1)).catch((e) => e);
    await gate.entered;
    await other.close();
    expect(await pending).toBeInstanceOf(RpcConnectionError);
    gate.open();
  });

  it('answers a raw nats.js request with a plain reply', async () => {
    const msg = await raw.request(`${prefix}.sum`, JSON.stringify([4, 5]), { timeout: 2_000 });
    expect(msg.string()).toBe('9');
    expect(msg.headers?.get('content-type')).toBe('application/json');
  });

  it('replies with a bad-request error to a malformed JSON body from a raw client', async () => {
    const h = headers();
    h.set('content-type', 'application/json');
    const msg = await raw.request(`${prefix}.sum`, '{not json', { timeout: 2_000, headers: h });
    expect(msg.headers?.get('rpc-error')).toBe('bad-request');
    expect(msg.json<{ message: string }>().message).toMatch(/not valid JSON/);
    // and the server keeps serving
    await expect(firstValueFrom(client.send(`${prefix}.sum`, [1, 1]))).resolves.toBe(2);
  });

  it('decodes a raw body without content type as JSON, then text', async () => {
    expect((await raw.request(`${prefix}.echo`, '{"x":1}', { timeout: 2_000 })).json()).toEqual({ x: 1 });
    expect((await raw.request(`${prefix}.echo`, 'hello', { timeout: 2_000 })).string()).toBe('hello');
  });
});
