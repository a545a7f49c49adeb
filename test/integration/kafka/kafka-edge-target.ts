// How the shared deadline and close suites start Kafka servers and clients.
import { Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { RpcServerOptions } from '../../../lib/index.js';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import type { EdgeTarget } from '../support/edge-target.js';
import { cleanUp, uniquePrefix } from './kafka-helpers.js';

export function kafkaTarget(name: string): EdgeTarget {
  const prefix = uniquePrefix(name);
  let services = 0;
  return {
    prefix,
    shortTimeoutMs: 1_000,
    turnedAway: 'redelivered',
    serverOptions: { topics: { numPartitions: 1 }, maxInFlightPerPartition: 10 },
    async startServer(
      controllers: Type[],
      options: RpcServerOptions & Record<string, unknown>,
      service = `s${services++}`,
    ) {
      @Module({ controllers })
      class M {}
      const groupId = `${prefix}-${service}`;
      const server = new KafkaRpcServer({
        client: { brokers: KAFKA_BROKERS, clientId: groupId, logLevel: 'nothing' },
        consumer: { groupId, sessionTimeout: 6_000, heartbeatInterval: 500 },
        ...options,
      });
      const app = await NestFactory.createMicroservice(M, { strategy: server, logger: false });
      await app.listen();
      return { app, server };
    },
    async newClient() {
      const client = new KafkaRpcClient({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-client`, logLevel: 'nothing' },
      });
      await client.connect();
      return client;
    },
    cleanUp: () => cleanUp(prefix),
  };
}
