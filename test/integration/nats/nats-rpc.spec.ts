import { Module, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientsModule, type ClientProxy } from '@nestjs/microservices';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { transportConformance } from '../support/conformance.js';
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

  transportConformance({
    prefix,
    log,
    gate,
    client: () => client as NatsRpcClient,
    newClient: (options) => new NatsRpcClient({ servers: NATS_URL, ...options }),
    bulk: { requestTimeoutMs: 50_000, testTimeoutMs: 60_000 },
  });

  it('gives the handler the subject and headers through NatsRpcContext', async () => {
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
