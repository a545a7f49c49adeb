import { Controller, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MessagePattern, Payload } from '@nestjs/microservices';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import { from, lastValueFrom, toArray, type Observable } from 'rxjs';
import { describe, expect, it, onTestFinished } from 'vitest';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { CRASHES_BEFORE_DROP } from '../../../lib/rabbitmq/rabbit-reply-crashes.js';
import { AMQP_URL } from '../brokers.js';

const PREFIX = 'amq.rabbitmq.reply-to.';

/**
 * A direct reply-to address as a caller on a node that is gone left it: a real one, with the node
 * hash it encodes (`reply@<digits>`) changed, so that it names no running node.
 */
async function deadNodeReplyTo(): Promise<string> {
  const connection = await amqp.connect(AMQP_URL);
  try {
    const caller = await connection.createChannel();
    const peer = await connection.createChannel();
    const { queue } = await peer.assertQueue('', { exclusive: true });
    const seen = new Promise<string>((resolve) => {
      void peer.consume(queue, (msg) => msg && resolve(msg.properties.replyTo as string), { noAck: true });
    });
    await caller.consume('amq.rabbitmq.reply-to', () => undefined, { noAck: true });
    caller.sendToQueue(queue, Buffer.from('probe'), { replyTo: 'amq.rabbitmq.reply-to' });
    const [encoded, key] = (await seen).slice(PREFIX.length).split('.') as [string, string];
    const pid = Buffer.from(encoded, 'base64').toString('latin1');
    const at = pid.indexOf('reply@') + 'reply@'.length;
    const other = pid.slice(0, at) + String((Number(pid[at]) + 1) % 10) + pid.slice(at + 1);
    return `${PREFIX}${Buffer.from(other, 'latin1').toString('base64')}.${key}`;
  } finally {
    await connection.close();
  }
}

describe('RabbitMQ: a request whose caller’s node is gone', () => {
  it('is dropped after it crashed the server’s connection twice, and the streams queued behind it are answered', async () => {
    const prefix = `dead-reply-${randomUUID().slice(0, 8)}`;
    @Controller()
    class Streams {
      @MessagePattern(`${prefix}.stream`)
      stream(@Payload() n: number): Observable<number> {
        return from([n, n + 1, n + 2]);
      }
    }
    @Module({ controllers: [Streams] })
    class StreamsModule {}
    const strategy = new RabbitRpcServer({ urls: [AMQP_URL], queue: { quorum: true } });
    let disconnections = 0;
    strategy.on('disconnected', () => disconnections++);
    const app = await NestFactory.createMicroservice(StreamsModule, { strategy, logger: false });
    await app.listen();
    const client = new RabbitRpcClient({ urls: [AMQP_URL], timeout: 20_000 });
    await client.connect();
    const admin = await amqp.connect(AMQP_URL);
    onTestFinished(async () => {
      await client.close();
      await app.close();
      const ch = await admin.createChannel();
      await ch.deleteQueue(`${prefix}.stream`);
      await admin.close();
    });

    // what a request of a caller on a node killed meanwhile looks like, redelivered to a server on another node
    const publisher = await admin.createConfirmChannel();
    publisher.sendToQueue(`${prefix}.stream`, Buffer.from('7'), {
      contentType: 'application/json',
      correlationId: 'orphan',
      replyTo: await deadNodeReplyTo(),
    });
    await publisher.waitForConfirms();
    await publisher.close();

    const values = await lastValueFrom(client.send<number>(`${prefix}.stream`, 5).pipe(toArray()));
    expect(values).toEqual([5, 6, 7]);
    // the broker closed the server's connection each time it answered the orphan, then it was dropped
    expect(disconnections).toBe(CRASHES_BEFORE_DROP);
  }, 60_000);
});
