import { type INestApplicationContext, type INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RpcNoRespondersError,
  RpcPayloadTooLargeError,
  RpcRecordBuilder,
  RpcRemoteError,
} from '../../../lib/index.js';
import { MemoryBroker, MemoryRpcClient, MemoryRpcServer } from '../../../lib/testing/index.js';
import { transportConformance } from '../support/conformance.js';
import { EventLog, Gate } from '../support/sync.js';
import { memoryController } from './app/memory.controller.js';

const prefix = `t${randomUUID().slice(0, 8)}`;
const log = new EventLog();
const gate = new Gate();

// The process's default broker, as a user who passes no `broker` gets it.
describe('in-memory transport', () => {
  let app: INestMicroservice;
  let clientApp: INestApplicationContext;
  let client: MemoryRpcClient;

  beforeAll(async () => {
    @Module({ controllers: memoryController(prefix, log, gate) })
    class AppModule {}
    app = await NestFactory.createMicroservice(AppModule, {
      strategy: new MemoryRpcServer({ queue: 'math' }),
      logger: false,
    });
    await app.listen();

    @Module({
      imports: [ClientsModule.register([{ name: 'MATH', customClass: MemoryRpcClient, options: {} }])],
    })
    class ClientModule {}
    clientApp = await NestFactory.createApplicationContext(ClientModule, { logger: false });
    client = clientApp.get<MemoryRpcClient>('MATH');
    await client.connect();
  });

  afterAll(async () => {
    gate.open();
    await clientApp?.close();
    await app?.close();
  });

  transportConformance({
    prefix,
    log,
    gate,
    client: () => client,
    newClient: (options) => new MemoryRpcClient(options),
    bulk: { requestTimeoutMs: 20_000, testTimeoutMs: 30_000 },
    // A reply that comes after its caller stopped waiting reaches the client and is counted as dropped.
    lateReply: () => {
      const before = client.counters.repliesDropped;
      return () => expect.poll(() => client.counters.repliesDropped).toBe(before + 1);
    },
  });

  it('serves on the default broker when given none', () => {
    expect(client.unwrap()).toBe(MemoryBroker.default);
    expect((app as unknown as { serverInstance: MemoryRpcServer }).serverInstance.unwrap()).toBe(
      MemoryBroker.default,
    );
  });

  it('gives the handler the subject and headers through MemoryRpcContext', async () => {
    const record = new RpcRecordBuilder({}).setHeaders({ 'x-tenant': 'a' }).withReplyHeaders().build();
    const reply = await firstValueFrom(client.send(`${prefix}.headers`, record));
    expect(reply.data).toEqual({ tenant: 'a', subject: `${prefix}.headers` });
    expect(reply.headers['x-served-by']).toBe('memory');
  });

  it('routes NATS-style wildcard subjects and tells the handler the concrete subject', async () => {
    await expect(firstValueFrom(client.send(`${prefix}.greet.hello`, 'ann'))).resolves.toBe('hello ann');
    await expect(firstValueFrom(client.send(`${prefix}.files.a.b`, 0))).resolves.toBe('a.b');
    const err = await firstValueFrom(client.send(`${prefix}.greet.hello.there`, 'x')).catch((e) => e);
    expect(err).toBeInstanceOf(RpcNoRespondersError);
  });

  it('fails a payload that cannot be encoded before anything is sent, as on a broker', async () => {
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await expect(firstValueFrom(client.send(`${prefix}.echo`, circular))).rejects.toThrow(/circular/i);
    await expect(firstValueFrom(client.send(`${prefix}.echo`, { n: 10n }))).rejects.toThrow(/BigInt/);
    expect(client.pendingCount).toBe(0);
  });
});

describe('in-memory transport with maxPayload', () => {
  const broker = new MemoryBroker({ maxPayload: 1024 });
  const server = new MemoryRpcServer({ broker });
  let app: INestMicroservice;
  let client: MemoryRpcClient;

  beforeAll(async () => {
    @Module({ controllers: memoryController(prefix, log, gate) })
    class AppModule {}
    app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
    await app.listen();
    client = new MemoryRpcClient({ broker });
  });

  afterAll(async () => {
    await client?.close();
    await app?.close();
  });

  it('fails a request above the limit with RpcPayloadTooLargeError', async () => {
    const err = await firstValueFrom(client.send(`${prefix}.echo`, 'x'.repeat(1025))).catch((e) => e);
    expect(err).toBeInstanceOf(RpcPayloadTooLargeError);
    expect(err).toMatchObject({ pattern: `${prefix}.echo`, size: 1025, limit: 1024 });
    expect(client.pendingCount).toBe(0);
    await expect(firstValueFrom(client.send(`${prefix}.echo`, 'x'.repeat(1024)))).resolves.toHaveLength(1024);
  });

  it('turns a reply above the limit into a too-large RpcRemoteError', async () => {
    const err = await firstValueFrom(client.send(`${prefix}.inflate`, 1025)).catch((e) => e);
    expect(err).toBeInstanceOf(RpcRemoteError);
    expect(err.kind).toBe('too-large');
    await expect(firstValueFrom(client.send(`${prefix}.inflate`, 1024))).resolves.toHaveLength(1024);
  });
});
