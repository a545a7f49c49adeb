// OpenTelemetry traces and metrics over a real NATS server.
import { randomUUID } from 'node:crypto';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { DEFAULT_NATS_QUEUE } from '../../../lib/nats/nats-rpc.options.js';
import { NATS_URL } from '../brokers.js';
import { telemetryConformance } from '../support/telemetry.js';

telemetryConformance('NATS', () => ({
  prefix: `t${randomUUID().slice(0, 8)}`,
  system: 'nats',
  server: () => new NatsRpcServer({ servers: NATS_URL }),
  client: (telemetry) => new NatsRpcClient({ servers: NATS_URL, ...(telemetry ? { telemetry } : {}) }),
  serverAttributes: { 'messaging.consumer.group.name': DEFAULT_NATS_QUEUE },
  upTimeout: 10_000,
}));
