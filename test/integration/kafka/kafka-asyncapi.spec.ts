// The AsyncAPI document of an app on a real Kafka broker.
import { expect } from 'vitest';
import { KafkaRpcClient, KafkaRpcServer } from '../../../lib/kafka/index.js';
import { KAFKA_BROKERS } from '../brokers.js';
import { asyncApiConformance } from '../support/asyncapi.js';
import { uniquePrefix } from './kafka-helpers.js';

const prefix = uniquePrefix('asyncapi');

asyncApiConformance('Kafka', () => ({
  prefix,
  server: () =>
    new KafkaRpcServer({
      client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-svc`, logLevel: 'nothing' },
      consumer: { groupId: `${prefix}-workers`, sessionTimeout: 6_000, heartbeatInterval: 500 },
      topics: { numPartitions: 2 },
    }),
  client: () =>
    new KafkaRpcClient({ client: { brokers: KAFKA_BROKERS, clientId: `${prefix}-gw`, logLevel: 'nothing' } }),
  expectBroker(doc, ids, { client }) {
    expect(doc.channels[ids.sum]!.bindings).toEqual({
      kafka: { topic: `${prefix}.sum`, partitions: 2, bindingVersion: '0.5.0' },
    });
    expect(doc.operations[`${prefix}.sum.receive`]!.bindings).toMatchObject({
      kafka: { groupId: { enum: [`${prefix}-workers`] } },
    });
    expect(doc.operations[`${prefix}.sum.receive`]!.reply).toMatchObject({
      address: { location: '$message.header#/reply_to' },
    });
    expect(doc.channels[ids.sum]!.messages.request!.correlationId).toMatchObject({
      location: '$message.header#/correlation_id',
    });
    // the client's real reply topic, which it created on connect
    expect(doc.channels[ids.clientReplies]).toMatchObject({
      address: client.replyTopic,
      bindings: { kafka: { topic: `${prefix}-gw.replies`, partitions: 1 } },
    });
  },
}));
