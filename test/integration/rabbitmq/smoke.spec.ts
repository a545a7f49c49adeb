import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AMQP_URL } from '../brokers.js';

const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => (resolve = res));
  return { promise, resolve };
}

describe('RabbitMQ broker smoke test', () => {
  const queue = `smoke.${randomUUID()}`;
  let conn: ChannelModel;
  let ch: Channel;

  beforeAll(async () => {
    conn = await amqp.connect(AMQP_URL, { timeout: 5_000 });
    ch = await conn.createChannel();
    await ch.assertQueue(queue, { durable: false, autoDelete: true });
  });

  afterAll(async () => {
    if (ch) {
      await ch.deleteQueue(queue);
      await ch.close();
    }
    await conn?.close();
  });

  it('publishes to a queue and consumes the message back', async () => {
    const received = deferred<ConsumeMessage>();
    await ch.consume(queue, (msg) => {
      if (!msg) return;
      ch.ack(msg);
      received.resolve(msg);
    });

    const correlationId = randomUUID();
    ch.sendToQueue(queue, Buffer.from('hello'), { correlationId, headers: { 'x-smoke': 'yes' } });
    const msg = await received.promise;

    expect(msg.content.toString()).toBe('hello');
    expect(msg.properties.correlationId).toBe(correlationId);
    expect(msg.properties.headers?.['x-smoke']).toBe('yes');
  });

  it('replies over direct reply-to', async () => {
    const serverQueue = (await ch.assertQueue('', { exclusive: true, autoDelete: true })).queue;
    await ch.consume(serverQueue, (msg) => {
      if (!msg) return;
      ch.sendToQueue(msg.properties.replyTo, Buffer.from(`pong:${msg.content.toString()}`), {
        correlationId: msg.properties.correlationId,
      });
      ch.ack(msg);
    });

    // Direct reply-to needs its consumer registered (consume-ok received) before the request goes out.
    const replied = deferred<ConsumeMessage>();
    await ch.consume(DIRECT_REPLY_TO, (msg) => msg && replied.resolve(msg), { noAck: true });
    const correlationId = randomUUID();
    ch.sendToQueue(serverQueue, Buffer.from('ping'), { correlationId, replyTo: DIRECT_REPLY_TO });
    const reply = await replied.promise;

    expect(reply.content.toString()).toBe('pong:ping');
    expect(reply.properties.correlationId).toBe(correlationId);
    await ch.deleteQueue(serverQueue);
  });
});
