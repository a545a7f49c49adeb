// How the shared deadline and close suites start NATS servers and clients.
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { RpcServerOptions } from '../../../lib/index.js';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import type { EdgeTarget } from '../support/edge-target.js';

export function natsTarget(): EdgeTarget {
  return {
    prefix: `dl${randomUUID().slice(0, 8)}`,
    shortTimeoutMs: 300,
    turnedAway: 'answered',
    async startServer(controllers: Type[], options: RpcServerOptions & Record<string, unknown>) {
      @Module({ controllers })
      class M {}
      const server = new NatsRpcServer({ servers: NATS_URL, ...options });
      const app = await NestFactory.createMicroservice(M, { strategy: server, logger: false });
      await app.listen();
      return { app, server };
    },
    async newClient() {
      const client = new NatsRpcClient({ servers: NATS_URL });
      await client.connect();
      return client;
    },
  };
}
