// The terminus health indicator over a real NATS server.
import { randomUUID } from 'node:crypto';
import { NatsRpcClient, NatsRpcServer } from '../../../lib/nats/index.js';
import { NATS_URL } from '../brokers.js';
import { healthConformance } from '../support/health.js';

healthConformance('NATS', () => ({
  prefix: `h${randomUUID().slice(0, 8)}`,
  server: () => new NatsRpcServer({ servers: NATS_URL }),
  client: () => new NatsRpcClient({ servers: NATS_URL }),
  unreachableClient: (port) => new NatsRpcClient({ servers: `nats://127.0.0.1:${port}` }),
  brokerProcess: true,
  upTimeout: 10_000,
}));
