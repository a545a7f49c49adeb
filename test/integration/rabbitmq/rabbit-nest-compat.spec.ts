import { type INestMicroservice, Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientRMQ, ServerRMQ } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RpcNoRespondersError, RpcRemoteError, RpcTimeoutError } from '../../../lib/index.js';
import {
  RabbitRpcClient,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { compatModule, differentialCalls, outcome } from '../support/nest-compat.js';

type Closable = { close(): Promise<unknown> | unknown };

describe("RabbitMQ: Nest's built-in transport on either side", () => {
  const open: Closable[] = [];
  beforeAll(() => Logger.overrideLogger(false)); // Nest's own client and server log every status change
  afterAll(() => Logger.overrideLogger(['error', 'warn']));
  afterEach(async () => {
    for (const c of open.splice(0).reverse()) await c.close();
  });

  const prefixOf = () => `rc${randomUUID().slice(0, 8)}`;
  // Nest's RMQ serves every pattern from one queue: the one its clients publish to
  const queueOf = (prefix: string) => `${prefix}.nest`;

  async function nestServer(prefix: string, seen: unknown[] = []) {
    const server = new ServerRMQ({ urls: [AMQP_URL], queue: queueOf(prefix) });
    const app = await NestFactory.createMicroservice(compatModule(prefix, 'nest', seen), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    handleUnconfirmedReplies(server);
    open.push(app);
    return app;
  }

  /**
   * Nest's ServerRMQ publishes each reply without handling the promise it gets back; a reply whose
   * publisher confirm is still out when the server closes rejects with "Channel closed"
   * (amqp-connection-manager's ChannelWrapper.close), unhandled, which fails the whole run. Handle them.
   */
  function handleUnconfirmedReplies(server: ServerRMQ) {
    type Send = (...args: unknown[]) => Promise<unknown>;
    const channel = (server as unknown as { channel?: { sendToQueue?: Send } }).channel;
    const send = channel?.sendToQueue;
    if (!channel || typeof send !== 'function')
      throw new Error(
        "Nest's ServerRMQ no longer keeps its reply channel in `channel`: revisit handleUnconfirmedReplies",
      );
    channel.sendToQueue = (...args: unknown[]) => {
      const sent = send.apply(channel, args);
      sent.catch(() => undefined);
      return sent;
    };
  }

  async function ourServer(
    prefix: string,
    seen: unknown[] = [],
    options: Partial<RabbitRpcServerOptions> = {},
  ) {
    const server = new RabbitRpcServer({ urls: [AMQP_URL], nestQueues: queueOf(prefix), ...options });
    const app: INestMicroservice = await NestFactory.createMicroservice(compatModule(prefix, 'ours', seen), {
      strategy: server,
      logger: false,
    });
    await app.listen();
    open.push(app);
    return server;
  }

  async function nestClient(prefix: string) {
    const client = new ClientRMQ({ urls: [AMQP_URL], queue: queueOf(prefix) });
    await client.connect();
    open.push(client);
    return client;
  }

  function ourNestClient(prefix: string, timeout?: number) {
    const client = new RabbitRpcClient({
      urls: [AMQP_URL],
      protocol: 'nest',
      nestQueue: queueOf(prefix),
      ...(timeout ? { timeout } : {}),
    });
    open.push(client);
    return client;
  }

  async function callAll(client: ClientRMQ, prefix: string) {
    const results = [];
    for (const [pattern, data] of differentialCalls(prefix))
      results.push(await outcome(client.send(pattern, data)));
    return results;
  }

  it("answers an unchanged ClientRMQ exactly as Nest's ServerRMQ does (differential)", async () => {
    const prefix = prefixOf();
    const client = await nestClient(prefix);
    const nest = await nestServer(prefix);
    const fromNest = await callAll(client, prefix);
    await nest.close();
    open.splice(open.indexOf(nest), 1);
    await ourServer(prefix);
    const fromOurs = await callAll(client, prefix);
    expect(fromOurs).toEqual(fromNest);
    // what the comparison covers: values, a stream, RpcException payloads, internal errors, no handler
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
      { error: 'There is no matching message handler defined in the remote service.' },
    ]);
  });

  it('delivers a ClientRMQ emit to our event handler', async () => {
    const prefix = prefixOf();
    const seen: unknown[] = [];
    await ourServer(prefix, seen);
    const client = await nestClient(prefix);
    await lastValueFrom(client.emit(`${prefix}.seen`, { n: 1 }), { defaultValue: undefined });
    await expect.poll(() => seen).toEqual([{ n: 1 }]);
  });

  it("with protocol 'nest', calls an unchanged ServerRMQ: values, a stream, typed errors, no handler, no responders, timeouts", async () => {
    const prefix = prefixOf();
    await nestServer(prefix);
    const client = ourNestClient(prefix, 300);
    expect(await outcome(client.send(`${prefix}.sum`, [1, 2, 3]))).toEqual({ values: [6] });
    expect(await outcome(client.send(`${prefix}.count`, 5))).toEqual({ values: [0, 1, 2, 3, 4] });
    expect(await outcome(client.send(`${prefix}.nothing`, null))).toEqual({ values: [] });
    expect(await outcome(client.send(`${prefix}.echo`, 'text'))).toEqual({ values: ['text'] });
    const refused = await lastValueFrom(client.send(`${prefix}.fail`, 'E_X')).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RpcRemoteError);
    expect(refused).toMatchObject({ kind: 'exception', error: { code: 'E_X', message: 'refused E_X' } });
    const boom = await lastValueFrom(client.send(`${prefix}.boom`, null)).catch((e: unknown) => e);
    expect(boom).toMatchObject({ kind: 'internal', error: { message: 'Internal server error' } });
    const unknown = await lastValueFrom(client.send(`${prefix}.unknown`, 1)).catch((e: unknown) => e);
    expect(unknown).toMatchObject({ kind: 'no-handler' });
    const nobody = ourNestClient(`${prefix}-nobody`);
    await expect(lastValueFrom(nobody.send(`${prefix}.sum`, [1]))).rejects.toBeInstanceOf(
      RpcNoRespondersError,
    );
    await expect(lastValueFrom(client.send(`${prefix}.never`, 1))).rejects.toBeInstanceOf(RpcTimeoutError);
  });

  it("with protocol 'nest', emits to an unchanged ServerRMQ event handler", async () => {
    const prefix = prefixOf();
    const seen: unknown[] = [];
    await nestServer(prefix, seen);
    const client = ourNestClient(prefix);
    // a payload with a `data` key: it must arrive whole, inside the envelope
    await lastValueFrom(client.emit(`${prefix}.seen`, { data: 1, n: 2 }), { defaultValue: undefined });
    await expect.poll(() => seen).toEqual([{ data: 1, n: 2 }]);
  });

  it('keeps 1 000 requests in flight both ways, every reply correct', async () => {
    const prefix = prefixOf();
    await ourServer(prefix);
    await nestServer(`${prefix}n`);
    const nest = await nestClient(prefix);
    const ours = ourNestClient(`${prefix}n`);
    const n = 1_000;
    const [viaNest, viaOurs] = await Promise.all([
      Promise.all(Array.from({ length: n }, (_, i) => lastValueFrom(nest.send(`${prefix}.sum`, [i, 1])))),
      Promise.all(Array.from({ length: n }, (_, i) => lastValueFrom(ours.send(`${prefix}n.sum`, [i, 2])))),
    ]);
    expect(viaNest).toEqual(Array.from({ length: n }, (_, i) => i + 1));
    expect(viaOurs).toEqual(Array.from({ length: n }, (_, i) => i + 2));
  });

  it('a mixed fleet (ServerRMQ and ours on one queue, callers of both kinds) answers every request', async () => {
    const prefix = prefixOf();
    await nestServer(prefix);
    await ourServer(prefix);
    const callers = { nest: await nestClient(prefix), ours: ourNestClient(prefix) };
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

  it('with nestCompat: false, reads an envelope on a pattern queue as a payload like any other', async () => {
    const prefix = prefixOf();
    await ourServer(prefix, [], { nestCompat: false, nestQueues: [] });
    const client = new ClientRMQ({
      urls: [AMQP_URL],
      queue: `${prefix}.echo`,
      queueOptions: { durable: false },
    });
    await client.connect();
    open.push(client);
    const reply = await lastValueFrom(client.send(`${prefix}.echo`, 'x'));
    expect(reply).toMatchObject({ pattern: `${prefix}.echo`, data: 'x', id: expect.any(String) });
  });

  it('refuses nestQueues with nestCompat: false, and protocol nest without nestQueue', () => {
    expect(() => new RabbitRpcServer({ nestCompat: false, nestQueues: 'q' })).toThrow(/nestCompat/);
    expect(() => new RabbitRpcClient({ protocol: 'nest' })).toThrow(/nestQueue/);
  });
});
