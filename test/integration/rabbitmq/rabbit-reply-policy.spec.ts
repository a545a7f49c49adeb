// Reply addresses are input, on RabbitMQ: replies to the server's own request queues, and
// reply-elsewhere routing keys its service queue would take as requests, are refused; `replyTo.allow`
// admits direct reply-to and private reply queues; a `__proto__` header is not the headers' prototype.
import { type INestMicroservice, type Type } from '@nestjs/common';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { randomUUID } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RpcRecordBuilder } from '../../../lib/index.js';
import {
  RabbitRpcClient,
  RabbitRpcServer,
  type RabbitRpcServerOptions,
} from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { replyPolicyController } from '../support/reply-policy.controller.js';
import { replyAddressTests, startServing } from '../support/reply-policy.js';
import { EventLog } from '../support/sync.js';

const prefix = `rp${randomUUID().slice(0, 8)}`;
const allowPrefix = `${prefix}a`;
const exchangePrefix = `${prefix}x`;
const log = new EventLog();
const allowLog = new EventLog();
const exchangeLog = new EventLog();

function start(controllers: Type[], options: Partial<RabbitRpcServerOptions>) {
  return startServing(controllers, new RabbitRpcServer({ urls: [AMQP_URL], ...options }));
}

describe('RabbitMQ reply addresses', () => {
  let apps: INestMicroservice[] = [];
  let server: RabbitRpcServer;
  let allowServer: RabbitRpcServer;
  let exchangeServer: RabbitRpcServer;
  let client: RabbitRpcClient;
  let queueClient: RabbitRpcClient;
  let exchangeClient: RabbitRpcClient;
  let raw: ChannelModel;
  let ch: Channel;
  const foreign = `${allowPrefix}.foreign`;
  const seenAtForeign: ConsumeMessage[] = [];
  const rawReplies = `${prefix}.raw.replies`;
  const replies = new Map<string, ConsumeMessage>();

  beforeAll(async () => {
    const a = await start([replyPolicyController(prefix, log)], {});
    const b = await start([replyPolicyController(allowPrefix, allowLog)], {
      replyTo: { allow: ['amq.rabbitmq.reply-to.*', `${allowPrefix}.replies`, `${allowPrefix}.result`] },
    });
    const c = await start([replyPolicyController(exchangePrefix, exchangeLog)], {
      exchange: `${exchangePrefix}-ex`,
      serviceQueue: `${exchangePrefix}-service`,
      queue: { autoDelete: true },
    });
    apps = [a.app, b.app, c.app];
    [server, allowServer, exchangeServer] = [a.server, b.server, c.server];
    client = new RabbitRpcClient({ urls: [AMQP_URL] });
    queueClient = new RabbitRpcClient({ urls: [AMQP_URL], replyQueue: `${allowPrefix}.replies` });
    exchangeClient = new RabbitRpcClient({ urls: [AMQP_URL], exchange: `${exchangePrefix}-ex` });
    await Promise.all([client.connect(), queueClient.connect(), exchangeClient.connect()]);
    raw = await amqp.connect(AMQP_URL);
    ch = await raw.createChannel();
    await ch.assertQueue(foreign, { exclusive: true });
    await ch.consume(foreign, (msg) => msg && seenAtForeign.push(msg), { noAck: true });
    await ch.assertQueue(rawReplies, { exclusive: true });
    await ch.consume(rawReplies, (msg) => msg && replies.set(String(msg.properties.correlationId), msg), {
      noAck: true,
    });
  });

  afterAll(async () => {
    await Promise.all([client?.close(), queueClient?.close(), exchangeClient?.close()]);
    await Promise.all(apps.map((a) => a.close()));
    if (ch) {
      for (const p of [prefix, allowPrefix])
        for (const q of ['work', 'target', 'fail', 'echo-headers', 'result'])
          await ch.deleteQueue(`${p}.${q}`).catch(() => undefined);
      await ch.deleteExchange(`${exchangePrefix}-ex`).catch(() => undefined);
    }
    await raw?.close();
  });

  replyAddressTests({
    prefix,
    log,
    server: () => server,
    client: () => client,
    rawRequest: async (destination, replyTo) => {
      ch.sendToQueue(destination, Buffer.from('1'), {
        replyTo,
        correlationId: `raw-${randomUUID()}`,
        contentType: 'application/json',
      });
    },
    allowList: {
      prefix: allowPrefix,
      log: allowLog,
      server: () => allowServer,
      clients: () => [client, queueClient],
      foreign,
      // read once a later reply of the server has arrived
      publishedToForeign: async () => seenAtForeign.length,
    },
  });

  it('refuses reply-elsewhere routing keys that its service queue takes as requests, and its service queue', async () => {
    const emit = (pattern: string, data: unknown, replyTo: string) =>
      lastValueFrom(exchangeClient.emit(pattern, new RpcRecordBuilder(data).setReplyTo(replyTo).build()), {
        defaultValue: undefined,
      });
    await emit(`${exchangePrefix}.work`, 'loop', `${exchangePrefix}.target`);
    await expect.poll(() => exchangeServer.counters.replyAddressesRefused, { timeout: 10_000 }).toBe(1);
    ch.publish(`${exchangePrefix}-ex`, `${exchangePrefix}.work`, Buffer.from('2'), {
      replyTo: `${exchangePrefix}-service`,
      correlationId: 'raw-service',
      contentType: 'application/json',
    });
    await expect.poll(() => exchangeServer.counters.replyAddressesRefused, { timeout: 10_000 }).toBe(2);
    // a routing key bound to an event handler is what reply-elsewhere is for
    await emit(`${exchangePrefix}.work`, 'fine', `${exchangePrefix}.result`);
    await exchangeLog.until('result');
    expect(exchangeLog.seen.find((e) => e.pattern === 'result')?.data).toBe('fine');
    expect(exchangeLog.count('work')).toBe(1);
    expect(exchangeLog.count('target')).toBe(0);
  });

  it('does not take the entries of an AMQP header named __proto__ for headers', async () => {
    ch.sendToQueue(`${prefix}.echo-headers`, Buffer.from('{}'), {
      headers: JSON.parse('{"__proto__": {"x-injected": "1"}, "x-a": "b"}'),
      replyTo: rawReplies,
      correlationId: 'proto-1',
      contentType: 'application/json',
    });
    await expect.poll(() => replies.has('proto-1'), { timeout: 10_000 }).toBe(true);
    const reply = replies.get('proto-1')!;
    const echoed = JSON.parse(reply.content.toString()) as Record<string, string>;
    expect(echoed['x-a']).toBe('b');
    expect(echoed['x-injected']).toBeUndefined();
    expect(reply.properties.headers?.['x-injected']).toBeUndefined();
  });
});
