// Reply addresses are the caller's input: the tests every transport runs against its real broker. A
// broker's suite serves `replyPolicyController` on two servers (one with defaults, one with a
// `replyTo.allow` list) and calls `replyAddressTests` with raw publishers for hostile requests.
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { RpcRecordBuilder } from '../../../lib/index.js';
import type { RpcClient } from '../../../lib/core/rpc-client.js';
import type { EventLog } from './sync.js';
import { type INestMicroservice, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RpcServer } from '../../../lib/core/rpc-server.js';

export interface ReplyPolicyTarget {
  /** The server with default options serves `replyPolicyController(prefix, log)`. */
  prefix: string;
  log: EventLog;
  server(): RpcServer<any, any>;
  client(): RpcClient<any>;
  /** Publishes a raw request (body `1`, a correlation id) to `destination`, naming `replyTo` as reply address. */
  rawRequest(destination: string, replyTo: string): Promise<void>;
  /** The server with `replyTo.allow` admitting its clients' reply addresses and `${prefix}.result` only. */
  allowList: {
    prefix: string;
    log: EventLog;
    server(): RpcServer<any, any>;
    /** Clients whose reply addresses the allow-list admits (each of the package's kinds the broker has). */
    clients(): RpcClient<any>[];
    /** An address of nobody in particular the allow-list does not admit. */
    foreign: string;
    /** How many messages reached `foreign`; called after a later reply of the server has arrived. */
    publishedToForeign?: () => Promise<number>;
  };
}

export function replyAddressTests(t: ReplyPolicyTarget): void {
  const emit = (client: RpcClient<any>, pattern: string, data: unknown, replyTo: string) =>
    lastValueFrom(client.emit(pattern, new RpcRecordBuilder(data).setReplyTo(replyTo).build()), {
      defaultValue: undefined,
    });

  it('drops a request whose reply address is one of its own request destinations, unhandled and counted', async () => {
    const { prefix, log } = t;
    const before = t.server().counters.replyAddressesRefused;
    await t.rawRequest(`${prefix}.work`, `${prefix}.target`);
    await expect.poll(() => t.server().counters.replyAddressesRefused, { timeout: 10_000 }).toBe(before + 1);
    // the server keeps serving; neither handler ran for the hostile request
    await expect(firstValueFrom(t.client().send(`${prefix}.target`, 'barrier'))).resolves.toBe('barrier');
    expect(log.seen.filter((e) => e.pattern === 'work' || e.pattern === 'target')).toEqual([
      { pattern: 'target', data: 'barrier' },
    ]);
  });

  it('logs the error of a reply-elsewhere request instead of publishing it as data', async () => {
    const { prefix, log } = t;
    const before = t.server().counters.replyElsewhereErrors;
    await emit(t.client(), `${prefix}.fail`, 1, `${prefix}.result`);
    await expect.poll(() => t.server().counters.replyElsewhereErrors, { timeout: 10_000 }).toBe(before + 1);
    await emit(t.client(), `${prefix}.work`, 'after', `${prefix}.result`);
    await log.until('result');
    expect(log.seen.filter((e) => e.pattern === 'result')).toEqual([{ pattern: 'result', data: 'after' }]);
  });

  it('with replyTo.allow, answers the package’s own reply addresses and refuses a foreign one', async () => {
    const { prefix, log, foreign } = t.allowList;
    const server = t.allowList.server();
    for (const [i, client] of t.allowList.clients().entries())
      await expect(firstValueFrom(client.send(`${prefix}.work`, i))).resolves.toBe(i);
    await emit(t.allowList.clients()[0]!, `${prefix}.work`, 'elsewhere', `${prefix}.result`);
    await log.until('result');
    expect(log.seen.find((e) => e.pattern === 'result')?.data).toBe('elsewhere');
    expect(server.counters.replyAddressesRefused).toBe(0);

    await t.rawRequest(`${prefix}.work`, foreign);
    await expect.poll(() => server.counters.replyAddressesRefused, { timeout: 10_000 }).toBe(1);
    await expect(firstValueFrom(t.allowList.clients()[0]!.send(`${prefix}.work`, 'still'))).resolves.toBe(
      'still',
    );
    if (t.allowList.publishedToForeign) expect(await t.allowList.publishedToForeign()).toBe(0);
  });
}

/** Starts a microservice serving `controllers` on `server`, without Nest's logs; returns both. */
export async function startServing<S extends RpcServer<any, any>>(
  controllers: Type[],
  server: S,
): Promise<{ app: INestMicroservice; server: S }> {
  @Module({ controllers })
  class AppModule {}
  const app = await NestFactory.createMicroservice(AppModule, { strategy: server, logger: false });
  await app.listen();
  return { app, server };
}
