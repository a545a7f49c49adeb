// The terminus health indicator over a real RabbitMQ broker.
import { randomUUID } from 'node:crypto';
import { RabbitRpcClient, RabbitRpcServer } from '../../../lib/rabbitmq/index.js';
import { AMQP_URL } from '../brokers.js';
import { healthConformance } from '../support/health.js';

healthConformance('RabbitMQ', () => ({
  prefix: `h${randomUUID().slice(0, 8)}`,
  server: () => new RabbitRpcServer({ urls: [AMQP_URL] }),
  client: () => new RabbitRpcClient({ urls: [AMQP_URL] }),
  unreachableClient: (port) => new RabbitRpcClient({ urls: [`amqp://guest:secret@127.0.0.1:${port}`] }),
  brokerProcess: true,
  upTimeout: 10_000,
}));
