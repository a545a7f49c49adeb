// OpenTelemetry traces and metrics over a real RabbitMQ broker.
import { randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { telemetryConformance } from '../support/telemetry.js';

telemetryConformance('RabbitMQ', () => {
  const prefix = `t${randomUUID().slice(0, 8)}`;
  return {
    prefix,
    system: 'rabbitmq',
    server: () => new RabbitRpcServer({ urls: [AMQP_URL] }),
    client: (telemetry) => new RabbitRpcClient({ urls: [AMQP_URL], ...(telemetry ? { telemetry } : {}) }),
    serverAttributes: {
      'messaging.rabbitmq.destination.routing_key': expect.stringMatching(`^${prefix}\\.`),
    },
    upTimeout: 10_000,
  };
});
