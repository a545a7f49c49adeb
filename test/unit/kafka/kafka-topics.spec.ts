import kafkajs from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RpcConnectionError } from '../../../lib/index.js';
import type { DriverAdmin, TopicSpec } from '../../../lib/kafka/driver/kafka-driver.js';
import { ensureTopics } from '../../../lib/kafka/kafka-topics.js';
import { createKafkajsDriver } from '../../../lib/kafka/kafkajs/kafkajs-driver.js';

const driver = createKafkajsDriver(
  { client: { brokers: ['127.0.0.1:1'], logLevel: 'nothing' } } as any,
  'test',
);

// kafkajs exports the class, its types do not declare it
const { KafkaJSCreateTopicError } = kafkajs as unknown as {
  KafkaJSCreateTopicError: new (e: object, topic: string) => Error;
};

/** kafkajs's createTopics failure: an aggregate of one protocol error per topic. */
function creationRefused(type: string, code: number) {
  return new kafkajs.KafkaJSAggregateError('Topic creation errors', [
    new KafkaJSCreateTopicError({ type, code, message: type, retriable: false }, 'orders'),
  ]);
}

/** An admin where no topic exists yet and creating them fails with `refusal`. */
function refusingAdmin(refusal: Error): DriverAdmin {
  return {
    connect: async () => undefined,
    disconnect: async () => undefined,
    partitionCounts: async () => new Map(),
    createTopics: async () => {
      throw refusal;
    },
    endOffsets: async () => new Map(),
    committedOffsets: async () => new Map(),
    describeGroup: async () => ({ stable: true, members: [] }),
    topicConfig: async () => undefined,
  } as DriverAdmin;
}

const specs: TopicSpec[] = [{ topic: 'orders', numPartitions: 3, replicationFactor: 1 } as TopicSpec];

describe('ensureTopics when the broker refuses to create a topic', () => {
  it('says the client is not allowed when an ACL refuses it (TOPIC_AUTHORIZATION_FAILED)', async () => {
    const refusal = creationRefused('TOPIC_AUTHORIZATION_FAILED', 29);
    const err = await ensureTopics(driver, refusingAdmin(refusal), specs, true).catch((e) => e);
    expect(err).toBeInstanceOf(RpcConnectionError);
    expect(err.message).toBe(
      'Kafka topic "orders" does not exist and could not be created: this client is not allowed to create topics' +
        ' (Topic creation errors: orders: TOPIC_AUTHORIZATION_FAILED)',
    );
    expect(err.cause).toBe(refusal);
  });

  it('treats a cluster-level ACL refusal and a creation policy the same way', async () => {
    for (const [type, code] of [
      ['CLUSTER_AUTHORIZATION_FAILED', 31],
      ['POLICY_VIOLATION', 44],
    ] as const) {
      const err = await ensureTopics(driver, refusingAdmin(creationRefused(type, code)), specs, true).catch(
        (e) => e,
      );
      expect(err.message).toContain('this client is not allowed to create topics');
    }
  });
});
