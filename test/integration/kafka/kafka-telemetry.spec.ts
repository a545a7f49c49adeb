// OpenTelemetry traces and metrics over a real Kafka broker.
import { expect } from 'vitest';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { telemetryConformance } from '../support/telemetry.js';
import { uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('otel');
let clients = 0;

telemetryConformance(
  'Kafka',
  () => ({
    prefix,
    system: 'kafka',
    server: () =>
      new KafkaRpcServer({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-svc`, logLevel: 'nothing' },
        consumer: { groupId: `${prefix}-svc`, sessionTimeout: 6_000, heartbeatInterval: 500 },
      }),
    client: (telemetry) =>
      new KafkaRpcClient({
        client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-c${clients++}`, logLevel: 'nothing' },
        ...(telemetry ? { telemetry } : {}),
      }),
    serverAttributes: {
      'messaging.consumer.group.name': `${prefix}-svc`,
      'messaging.destination.partition.id': expect.any(String),
      'messaging.kafka.offset': expect.any(Number),
    },
    upTimeout: 20_000,
  }),
  { lateRepliesCounted: false },
);
