import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, describe } from 'vitest';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { closeConformance } from '../support/close-conformance.js';
import { silentBrokerClose } from '../support/silent-broker-close.js';
import { rabbitTarget } from './rabbit-edge-target.js';

describe('RabbitMQ close', () => {
  const target = rabbitTarget();
  afterAll(() => target.cleanUp?.());
  closeConformance(target);

  const via = (port: number) => AMQP_URL.replace(/:\d+(\/|$)/, `:${port}$1`);
  silentBrokerClose({
    brokerPort: Number(new URL(AMQP_URL).port),
    pattern: `${target.prefix}.silent.echo`,
    async startServer(controllers, port, options) {
      @Module({ controllers: controllers as Type[] })
      class M {}
      // deleted by the broker once the connection the test cuts is gone
      const server = new RabbitRpcServer({ urls: [via(port)], queue: { autoDelete: true }, ...options });
      const app = await NestFactory.createMicroservice(M, { strategy: server, logger: false });
      await app.listen();
      return app;
    },
    async newClient(port, options) {
      const client = new RabbitRpcClient({ urls: [via(port)], ...options });
      await client.connect();
      return client;
    },
  });
});
