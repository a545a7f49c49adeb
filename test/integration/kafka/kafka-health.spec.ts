// The terminus health indicator over a real Kafka broker.
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { healthConformance } from '../support/health.js';
import { uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('health');
let clients = 0;

healthConformance('Kafka', () => ({
  prefix,
  server: () =>
    new KafkaRpcServer({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-svc`, logLevel: 'nothing' },
      consumer: { groupId: `${prefix}-svc`, sessionTimeout: 6_000, heartbeatInterval: 500 },
    }),
  client: () =>
    new KafkaRpcClient({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-c${clients++}`, logLevel: 'nothing' },
    }),
  unreachableClient: (port) =>
    new KafkaRpcClient({
      client: { brokers: [`127.0.0.1:${port}`], clientId: `${prefix}-down`, logLevel: 'nothing' },
    }),
  brokerProcess: true,
  // a Kafka client's first connect creates and joins its reply topic
  upTimeout: 20_000,
}));
