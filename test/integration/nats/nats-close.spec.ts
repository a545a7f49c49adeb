import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { afterAll, describe } from 'vitest';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { closeConformance } from '../support/close-conformance.js';
import { silentBrokerClose } from '../support/silent-broker-close.js';
import { natsTarget } from './nats-edge-target.js';

describe('NATS close', () => {
  const target = natsTarget();
  afterAll(() => target.cleanUp?.());
  closeConformance(target);

  const via = (port: number) => `nats://127.0.0.1:${port}`;
  silentBrokerClose({
    brokerPort: Number(new URL(NATS_URL).port),
    pattern: `${target.prefix}.silent.echo`,
    async startServer(controllers, port, options) {
      @Module({ controllers: controllers as Type[] })
      class M {}
      const server = new NatsRpcServer({ servers: via(port), ...options });
      const app = await NestFactory.createMicroservice(M, { strategy: server, logger: false });
      await app.listen();
      return app;
    },
    async newClient(port, options) {
      const client = new NatsRpcClient({ servers: via(port), ...options });
      await client.connect();
      return client;
    },
  });
});
