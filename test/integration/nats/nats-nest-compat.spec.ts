import { type INestMicroservice, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientNats, Transport } from '@nestjs/microservices';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcNoRespondersError, RpcRemoteError, RpcTimeoutError } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer, type NatsRpcServerOptions } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { compatModule, differentialCalls, outcome } from '../support/nest-compat.js';

type Closable = { close(): Promise<unknown> | unknown };

describe("NATS: Nest's built-in transport on either side", () => {
  const open: Closable[] = [];
  beforeAll(() => Logger.overrideLogger(false)); // Nest's own client and server log every status change
  afterAll(() => Logger.overrideLogger(['error', 'warn']));
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  const prefixOf = () => `nc${randomUUID().slice(0, 8)}`;

  async function nestServer(prefix: string, seen: unknown[] = [], queue?: string) {
    const app = await NestFactory.createMicroservice(compatModule(prefix, 'nest', seen), {
      transport: Transport.NATS,
      options: { servers: NATS_URL, ...(queue ? { queue } : {}) },
      logger: false,
    });
    await app.listen();
    open.push(app);
    // ServerNats resolves listen() before its SUBs reach the server (ours flushes first): without this
    // flush the first request can meet "no responders"
    await app.unwrap<NatsConnection>().flush();
    return app;
  }

  async function ourServer(
    prefix: string,
    seen: unknown[] = [],
    options: Partial<NatsRpcServerOptions> = {},
  ) {
    const server = new NatsRpcServer({ servers: NATS_URL, ...options });
    const app: INestMicroservice = await NestFactory.createMicroservice(compatModule(prefix, 'ours', seen), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    open.push(app);
    return server;
  }

  async function nestClient() {
    const client = new ClientNats({ servers: NATS_URL });
    await client.connect();
    open.push(client);
    return client;
  }

  function ourNestClient(timeout?: number) {
    const client = new NatsRpcClient({
      servers: NATS_URL,
      protocol: 'nest',
      ...(timeout ? { timeout } : {}),
    });
    open.push(client);
    return client;
  }

  async function callAll(client: ClientNats, prefix: string) {
    const results = [];
    for (const [pattern, data] of differentialCalls(prefix))
      results.push(await outcome(client.send(pattern, data)));
    return results;
  }

  it("answers an unchanged ClientNats exactly as Nest's ServerNats does (differential)", async () => {
    const prefix = prefixOf();
    const client = await nestClient();
    const nest = await nestServer(prefix);
    const fromNest = await callAll(client, prefix);
    await nest.close();
    open.splice(open.indexOf(nest), 1);
    await ourServer(prefix);
    const fromOurs = await callAll(client, prefix);
    expect(fromOurs).toEqual(fromNest);
    // what the comparison covers: values, a stream, RpcException payloads, internal errors, no responders
    expect(fromNest).toEqual([
      { values: [6] },
      { values: [0] },
      { values: [0, 1, 2, 3, 4] },
      { values: [] },
      { error: { code: 'E_LIMIT', message: 'refused E_LIMIT' } },
      { error: { status: 'error', message: 'plain refusal' } },
      { error: { status: 'error', message: 'Internal server error' } },
      { values: [] },
      { values: [{ text: 'héllo', nested: { list: [1, null, true] } }] },
      { values: ['a string'] },
      { error: { class: 'EmptyResponseException', message: expect.stringContaining(`${prefix}.unknown`) } },
    ]);
  });

  it('delivers a ClientNats emit to our event handler', async () => {
    const prefix = prefixOf();
    const seen: unknown[] = [];
    await ourServer(prefix, seen);
    const client = await nestClient();
    await lastValueFrom(client.emit(`${prefix}.seen`, { n: 1 }), { defaultValue: undefined });
    await expect.poll(() => seen).toEqual([{ n: 1 }]);
  });

  it("with protocol 'nest', calls an unchanged ServerNats: values, a stream, typed errors, no responders, timeouts", async () => {
    const prefix = prefixOf();
    await nestServer(prefix);
    const client = ourNestClient(300);
    expect(await outcome(client.send(`${prefix}.sum`, [1, 2, 3]))).toEqual({ values: [6] });
    expect(await outcome(client.send(`${prefix}.count`, 5))).toEqual({ values: [0, 1, 2, 3, 4] });
    expect(await outcome(client.send(`${prefix}.nothing`, null))).toEqual({ values: [] });
    expect(await outcome(client.send(`${prefix}.echo`, 'text'))).toEqual({ values: ['text'] });
    const refused = await lastValueFrom(client.send(`${prefix}.fail`, 'E_X')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcRemoteError);
    expect(refused).toMatchObject({ kind: 'exception', error: { code: 'E_X', message: 'refused E_X' } });
    const boom = await lastValueFrom(client.send(`${prefix}.boom`, null)).catch((e: unknown) => e);
    expect(boom).toMatchObject({ kind: 'internal', error: { message: 'Internal server error' } });
    await expect(lastValueFrom(client.send(`${prefix}.unknown`, 1))).rejects.toBeInstanceOf(
      RpcNoRespondersError,
    );
    await expect(lastValueFrom(client.send(`${prefix}.never`, 1))).rejects.toBeInstanceOf(RpcTimeoutError);
  });

  it("with protocol 'nest', emits to an unchanged ServerNats event handler", async () => {
    const prefix = prefixOf();
    const seen: unknown[] = [];
    await nestServer(prefix, seen);
    const client = ourNestClient();
    // a payload with a `data` key: Nest's server would take a bare one for an envelope and pass on 1
    await lastValueFrom(client.emit(`${prefix}.seen`, { data: 1, n: 2 }), { defaultValue: undefined });
    await expect.poll(() => seen).toEqual([{ data: 1, n: 2 }]);
  });

  it('keeps 1 000 requests in flight both ways, every reply correct', async () => {
    const prefix = prefixOf();
    await ourServer(prefix);
    await nestServer(`${prefix}n`);
    const nest = await nestClient();
    const ours = ourNestClient();
    const n = 1_000;
    const [viaNest, viaOurs] = await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => lastValueFrom(nest.send(`${prefix}.sum`, [i, 1])))),
      Promise.all(Array.from({ length: n }, (_, i) => lastValueFrom(ours.send(`${prefix}n.sum`, [i, 2])))),
    ]);
    expect(viaNest).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(viaOurs).toEqual(Array.from({ length: n }, (_, i) => i + 2));
  });

  it('a mixed fleet (ServerNats and ours in one queue group, callers of both kinds) answers every request', async () => {
    const prefix = prefixOf();
    const queue = `q-${prefix}`;
    await nestServer(prefix, [], queue);
    await ourServer(prefix, [], { queue });
    const callers = { nest: await nestClient(), ours: ourNestClient() };
    const n = 200;
    for (const [kind, client] of Object.entries(callers)) {
      const replies = await Promise.all(
        Array.from({ length: n }, (_, i) => lastValueFrom(client.send(`${prefix}.sumBy`, [i, 3]))),
      );
      expect(
        replies.map((r) => r.sum),
        kind,
      ).toEqual(Array.from({ length: n }, (_, i) => i + 3));
      expect(new Set(replies.map((r) => r.by)), kind).toEqual(new Set(['nest', 'ours']));
      const streams = await Promise.all(
        Array.from({ length: 20 }, () => outcome(client.send(`${prefix}.count`, 4))),
      );
      expect(streams, kind).toEqual(Array.from({ length: 20 }, () => ({ values: [0, 1, 2, 3] })));
    }
  });

  it('with nestCompat: false, reads the envelope as a payload like any other', async () => {
    const prefix = prefixOf();
    await ourServer(prefix, [], { nestCompat: false });
    const client = await nestClient();
    const reply = await lastValueFrom(client.send(`${prefix}.echo`, 'x'));
    expect(reply).toMatchObject({ pattern: `${prefix}.echo`, data: 'x', id: expect.any(String) });
  });
});
