// Reply addresses are input, on NATS: reply loops (wildcard subscriptions included) are refused, and
// `replyTo.allow` admits the package's own inboxes (default and custom `inboxPrefix`).
import { Controller, type INestMicroservice, type Type } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NatsRpcClient, NatsRpcServer, type NatsRpcServerOptions } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { replyPolicyController } from '../support/reply-policy.controller.js';
import { replyAddressTests, startServing } from '../support/reply-policy.js';
import { EventLog } from '../support/sync.js';

const prefix = `rp${randomUUID().slice(0, 8)}`;
const allowPrefix = `${prefix}a`;
const log = new EventLog();
const allowLog = new EventLog();

function start(controllers: Type[], options: Partial<NatsRpcServerOptions>) {
  return startServing(controllers, new NatsRpcServer({ servers: NATS_URL, ...options }));
}

describe('NATS reply addresses', () => {
  let apps: INestMicroservice[] = [];
  let server: NatsRpcServer;
  let allowServer: NatsRpcServer;
  let client: NatsRpcClient;
  let inboxClient: NatsRpcClient;
  let raw: NatsConnection;
  const foreign = `elsewhere.${allowPrefix}`;
  const seenAtForeign: Msg[] = [];

  beforeAll(async () => {
    @Controller()
    class Wildcard {
      @MessagePattern(`${prefix}.wild.*`)
      wild(@Payload() data: unknown): unknown {
        log.record('wild', data);
        return data;
      }
    }
    const a = await start([replyPolicyController(prefix, log), Wildcard], { queue: prefix });
    const b = await start([replyPolicyController(allowPrefix, allowLog)], {
      queue: allowPrefix,
      replyTo: { allow: ['_INBOX.*', `_R${allowPrefix}.*`, `${allowPrefix}.result`] },
    });
    apps = [a.app, b.app];
    server = a.server;
    allowServer = b.server;
    client = new NatsRpcClient({ servers: NATS_URL });
    inboxClient = new NatsRpcClient({ servers: NATS_URL, inboxPrefix: `_R${allowPrefix}` });
    await Promise.all([client.connect(), inboxClient.connect()]);
    raw = await connect({ servers: NATS_URL });
    raw.subscribe(foreign, { callback: (_err, msg) => void seenAtForeign.push(msg) });
    await raw.flush();
  });

  afterAll(async () => {
    await Promise.all([client?.close(), inboxClient?.close()]);
    await Promise.all(apps.map((a) => a.close()));
    await raw?.close();
  });

  replyAddressTests({
    prefix,
    log,
    server: () => server,
    client: () => client,
    rawRequest: async (destination, replyTo) => {
      raw.publish(destination, JSON.stringify(1), { reply: replyTo });
      await raw.flush();
    },
    allowList: {
      prefix: allowPrefix,
      log: allowLog,
      server: () => allowServer,
      clients: () => [client, inboxClient],
      foreign,
      publishedToForeign: async () => {
        // whatever the server published has reached nats-server, and from there this subscriber
        await allowServer.unwrap<NatsConnection>().flush();
        await raw.flush();
        return seenAtForeign.length;
      },
    },
  });

  it('refuses a reply subject that one of its wildcard subscriptions matches', async () => {
    const before = server.counters.replyAddressesRefused;
    raw.publish(`${prefix}.work`, JSON.stringify(2), { reply: `${prefix}.wild.loop` });
    await raw.flush();
    await expect.poll(() => server.counters.replyAddressesRefused, { timeout: 10_000 }).toBe(before + 1);
    await server.unwrap<NatsConnection>().flush();
    expect(log.count('wild')).toBe(0);
    expect(log.seen.filter((e) => e.pattern === 'work' && e.data === 2)).toEqual([]);
  });
});
