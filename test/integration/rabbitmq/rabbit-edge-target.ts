// How the shared deadline and close suites start RabbitMQ servers and clients.
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import amqp from 'amqplib';
import { randomUUID } from 'node:crypto';
import type { RpcServerOptions } from '../../../lib/index.js';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import type { EdgeTarget } from '../support/edge-target.js';

export function rabbitTarget(): EdgeTarget {
  const queues = new Set<string>();
  return {
    prefix: `dl${randomUUID().slice(0, 8)}`,
    shortTimeoutMs: 300,
    turnedAway: 'redelivered',
    async startServer(controllers: Type[], options: RpcServerOptions & Record<string, unknown>) {
      @Module({ controllers })
      class M {}
      const server = new RabbitRpcServer({ urls: [AMQP_URL], ...options });
      const app = await NestFactory.createMicroservice(M, { strategy: server, logger: false });
      await app.listen();
      for (const q of server.queueNames) queues.add(q);
      return { app, server };
    },
    async newClient() {
      const client = new RabbitRpcClient({ urls: [AMQP_URL] });
      await client.connect();
      return client;
    },
    async cleanUp() {
      const conn = await amqp.connect(AMQP_URL);
      const ch = await conn.createChannel();
      for (const q of queues) await ch.deleteQueue(q).catch(() => undefined);
      await conn.close();
    },
  };
}
